"""The contact plan: feed the pure planner (``scheduling.planners.contacts``) the stored
passes, the current plan and the transfer demand, then apply its diff."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ops.edge.access import check_unrestricted
from ops.edge.fields import check_window
from ops.fleet.models import GroundStation, MaintenanceWindow, Spacecraft
from orbital import timescales
from scheduling.exceptions import InvalidRequest, InvalidWindow
from scheduling.models import (
    ACTIVE_CONTACT_STATES,
    Contact,
    ContactState,
    Pass,
)
from scheduling.planners import contacts as planner
from scheduling.services.contacts import (
    active_contacts_near,
    antenna_clashes,
    contact_event_record,
    contact_label,
    contact_move,
    free_antenna,
    lock_stations_and_spacecraft,
    min_contact_s,
    radio_clash,
    seconds,
)

logger = logging.getLogger(__name__)

PLANNER_ACTOR = "planner"
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
DEFAULT_FREEZE_S = 900.0
DEFAULT_BUDGET_S = 5.0
MAX_BUDGET_S = 120.0

Progress = Callable[[float], None]
Demand = Callable[[list[int], datetime], tuple[planner.Transfer, ...]]


@dataclass(frozen=True, slots=True)
class ContactChange:
    action: str  # "added", "removed" or "kept"
    contact: Contact
    reason: str


@dataclass(frozen=True)
class ReplanOutcome:
    """What a replan did. ``skipped`` lists planned contacts not booked because they
    clashed with a contact outside the replanned scope (or one booked meanwhile)."""

    window_start: datetime
    window_end: datetime
    frozen_until: datetime
    method: str
    added: tuple[ContactChange, ...]
    removed: tuple[ContactChange, ...]
    kept: tuple[ContactChange, ...]
    skipped: tuple[str, ...] = ()
    stats: dict[str, float] = field(default_factory=dict)


def _station_spec(
    station: GroundStation, maintenance: list[MaintenanceWindow]
) -> planner.StationSpec:
    return planner.StationSpec(
        key=station.pk,
        antennas=station.antennas,
        uplink_rate_bps=float(station.uplink_rate_bps),
        downlink_rate_bps=float(station.downlink_rate_bps),
        setup_s=float(station.setup_s),
        turnaround_s=float(station.turnaround_s),
        maintenance=tuple(
            (timescales.unix_seconds(m.starts_at), timescales.unix_seconds(m.ends_at))
            for m in maintenance
        ),
    )


def _craft_spec(craft: Spacecraft) -> planner.SpacecraftSpec:
    return planner.SpacecraftSpec(
        key=craft.pk,
        priority=craft.priority,
        radios=craft.radios,
        uplink_rate_bps=float(craft.uplink_rate_bps),
        downlink_rate_bps=float(craft.downlink_rate_bps),
    )


def _as_planned(row: Contact) -> planner.Contact:
    return planner.Contact(
        spacecraft=row.spacecraft_id,
        station=row.station_id,
        antenna=row.antenna,
        start_s=timescales.unix_seconds(row.start),
        end_s=timescales.unix_seconds(row.end),
        uplink_bytes=float(row.uplink_capacity_bytes),
        downlink_bytes=float(row.downlink_capacity_bytes),
    )


def contact_plan_refresh(
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    freeze_s: float = DEFAULT_FREEZE_S,
    budget_s: float = DEFAULT_BUDGET_S,
    actor: str = PLANNER_ACTOR,
    now: datetime | None = None,
    progress: Progress | None = None,
    demand: Demand | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> ReplanOutcome:
    """Replan the contacts of every active spacecraft over every active station in the
    window (default: now to now + 24 h) from the stored passes, and apply the diff.

    Contacts in progress, or starting before ``now + freeze_s``, are never touched:
    the planner plans around them. Scheduled contacts lying inside the window are
    the plan being revised: each is kept, or cancelled with the planner's reason
    (maintenance, no longer predicted, retimed, given to higher-value demand). Active
    contacts straddling the window's edges are outside its scope and left alone; a
    planned contact that would clash with one is skipped (reported in ``skipped``).

    ``demand(spacecraft_ids, window_end)``: the open transfers' bytes still to move
    (priority, deadline, direction), the planner's objective being priority-weighted
    bytes delivered before their deadlines. Contacts know nothing of transfers: the
    orchestrator (``services.replan.plan_refresh``) passes the transfer queue in and
    replans the transfers onto the new contacts afterwards.
    """
    check_unrestricted(
        allowed_spacecraft_ids=allowed_spacecraft_ids,
        action="replanning moves every spacecraft's contacts",
    )
    now = now or timezone.now()
    window_start = window_start or now
    window_end = window_end or window_start + DEFAULT_WINDOW
    check_window(window_start, window_end, max_span=MAX_WINDOW, error=InvalidWindow)
    if freeze_s < 0:
        raise InvalidRequest("negative freeze", fields={"freeze_s": "must be >= 0"})
    if not 0 < budget_s <= MAX_BUDGET_S:
        raise InvalidRequest("bad budget", fields={"budget_s": f"must be in (0, {MAX_BUDGET_S:g}]"})
    frozen_until = now + seconds(freeze_s)
    report = progress or (lambda _fraction: None)

    crafts = list(Spacecraft.objects.filter(active=True).order_by("pk"))
    stations = list(GroundStation.objects.filter(active=True).order_by("pk"))
    maintenance: dict[int, list[MaintenanceWindow]] = {}
    for window in MaintenanceWindow.objects.filter(
        station__in=stations,
        starts_at__lt=window_end + timedelta(hours=1),
        ends_at__gt=min(window_start, now) - timedelta(hours=1),
    ).order_by("starts_at"):
        maintenance.setdefault(window.station_id, []).append(window)
    pass_rows = list(
        Pass.objects.filter(
            spacecraft__in=crafts,
            station__in=stations,
            los__gt=max(window_start, frozen_until),
            aos__lt=window_end,
        ).order_by("aos")
    )
    previous_rows = list(_in_scope(now, frozen_until, window_start, window_end))
    previous = [_as_planned(r) for r in previous_rows]
    row_of = {id(c): r for c, r in zip(previous, previous_rows, strict=True)}
    report(0.1)
    request = planner.PlanRequest(
        passes=tuple(
            planner.CandidatePass(
                spacecraft=p.spacecraft_id,
                station=p.station_id,
                aos_s=timescales.unix_seconds(p.aos),
                los_s=timescales.unix_seconds(p.los),
                max_elevation_deg=p.max_elevation_deg,
                aos_clipped=p.aos_clipped,
                los_clipped=p.los_clipped,
            )
            for p in pass_rows
        ),
        spacecraft=tuple(_craft_spec(c) for c in crafts),
        stations=tuple(_station_spec(s, maintenance.get(s.pk, [])) for s in stations),
        transfers=demand([c.pk for c in crafts], window_end) if demand else (),
        window_start_s=timescales.unix_seconds(window_start),
        window_end_s=timescales.unix_seconds(window_end),
        min_duration_s=min_contact_s(),
        now_s=timescales.unix_seconds(now),
        freeze_s=freeze_s,
        previous=tuple(previous),
        time_budget_s=budget_s,
    )
    result = planner.plan_contacts(request)
    report(0.8)
    outcome = _apply(
        result=result,
        row_of=row_of,
        passes=pass_rows,
        crafts={c.pk: c for c in crafts},
        stations={s.pk: s for s in stations},
        actor=actor,
        now=now,
        frozen_until=frozen_until,
        window=(window_start, window_end),
    )
    report(1.0)
    logger.info(
        "replan %s..%s by %s: %d added, %d removed, %d kept, %d skipped (%s)",
        window_start,
        window_end,
        actor,
        len(outcome.added),
        len(outcome.removed),
        len(outcome.kept),
        len(outcome.skipped),
        outcome.method,
    )
    return outcome


def _in_scope(
    now: datetime, frozen_until: datetime, window_start: datetime, window_end: datetime
) -> Iterable[Contact]:
    """The previous plan given to the planner: active contacts in progress or frozen
    (kept as they are) and scheduled ones inside the window (revised)."""
    frozen = Q(end__gt=now) & (Q(start__lt=frozen_until) | Q(state=ContactState.IN_PROGRESS))
    inside = Q(state=ContactState.SCHEDULED, start__gte=window_start, end__lte=window_end)
    return (
        Contact.objects.filter(state__in=ACTIVE_CONTACT_STATES)
        .filter(frozen | (inside & Q(end__gt=now)))
        .order_by("start", "pk")
    )


@transaction.atomic
def _apply(
    *,
    result: planner.PlanResult,
    row_of: dict[int, Contact],
    passes: list[Pass],
    crafts: dict[int, Spacecraft],
    stations: dict[int, GroundStation],
    actor: str,
    now: datetime,
    frozen_until: datetime,
    window: tuple[datetime, datetime],
) -> ReplanOutcome:
    lock_stations_and_spacecraft(station_ids=sorted(stations), spacecraft_ids=sorted(crafts))
    added: list[ContactChange] = []
    removed: list[ContactChange] = []
    kept: list[ContactChange] = []
    skipped: list[str] = []
    unmatched = dict(row_of)
    for entry in result.diff:
        if entry.action == "added":
            continue
        row = unmatched.pop(id(entry.contact), None)
        if row is None:  # a "kept unchanged" entry carries the new twin: find the old row
            key = next(
                (k for k, r in unmatched.items() if _as_planned(r).same_booking(entry.contact)),
                None,
            )
            row = unmatched.pop(key) if key is not None else None
        if row is None:
            continue
        row.refresh_from_db()
        if row.state not in ACTIVE_CONTACT_STATES:  # cancelled or finished meanwhile
            continue
        protected = row.state != ContactState.SCHEDULED or row.start < frozen_until
        if entry.action == "kept" or protected:
            why = entry.reason if entry.action == "kept" else "in progress or inside the freeze"
            kept.append(ContactChange("kept", row, why))
            continue
        reason = f"replan: {entry.reason}"
        contact_move(row=row, to_state=ContactState.CANCELLED, actor=actor, reason=reason, now=now)
        removed.append(ContactChange("removed", row, entry.reason))
    for entry in result.diff:
        if entry.action != "added":
            continue
        c = entry.contact
        why = entry.reason
        craft, station = crafts[cast(int, c.spacecraft)], stations[cast(int, c.station)]
        start, end = timescales.to_datetime(c.start_s), timescales.to_datetime(c.end_s)
        at_station, of_craft = active_contacts_near(
            station=station, spacecraft=craft, start=start, end=end
        )
        # The planner's antenna, if the database agrees it is free; else any free one.
        per_antenna = antenna_clashes(station=station, start=start, end=end, rows=at_station)
        antenna: int | None = None
        clash: Contact | None = None
        if 0 <= c.antenna < station.antennas and not per_antenna[c.antenna]:
            antenna = c.antenna
        else:
            antenna, clash = free_antenna(station=station, start=start, end=end, rows=at_station)
        clash = clash or radio_clash(spacecraft=craft, start=start, end=end, rows=of_craft)
        if antenna is None or clash is not None:
            skipped.append(
                f"{craft.slug}@{station.slug} {start:%Y-%m-%dT%H:%M:%SZ}..{end:%H:%M:%SZ}: "
                f"clashes with {contact_label(clash) if clash else 'an existing contact'}"
            )
            continue
        pass_ = next(
            (
                p
                for p in passes
                if p.spacecraft_id == craft.pk
                and p.station_id == station.pk
                and p.aos <= start
                and p.los >= end
            ),
            None,
        )
        row = Contact.objects.create(
            spacecraft=craft,
            station=station,
            antenna=antenna,
            pass_ref=pass_,
            pass_aos=pass_.aos if pass_ else None,
            pass_los=pass_.los if pass_ else None,
            start=start,
            end=end,
            uplink_capacity_bytes=int(c.uplink_bytes),
            downlink_capacity_bytes=int(c.downlink_bytes),
            booked_by=PLANNER_ACTOR,
            manual=False,
            reason=why,
            state_changed_at=now,
        )
        contact_event_record(
            contact=row, from_state="", actor=actor, reason=f"replan: {why}", now=now
        )
        added.append(ContactChange("added", row, why))
    return ReplanOutcome(
        window_start=window[0],
        window_end=window[1],
        frozen_until=frozen_until,
        method=result.method,
        added=tuple(added),
        removed=tuple(removed),
        kept=tuple(kept),
        skipped=tuple(skipped),
        stats=dict(result.stats),
    )
