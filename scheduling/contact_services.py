"""Contact writes: replanning from stored passes, manual booking, cancel, the lifecycle.

Keyword-only and typed, like ``services.py`` (which holds the pass writes; contacts got
their own module to keep both under ~500 lines). The pure planner is
``scheduling.contacts``: this module feeds it rows and applies its diff.

Locking: every write locks the station rows, then the spacecraft rows, in primary-key
order, so a manual booking and a replan cannot both see a free antenna or radio, and
cannot deadlock each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ops.fleet.models import GroundStation, MaintenanceWindow, Spacecraft
from scheduling import contacts as planner
from scheduling import timescale
from scheduling.exceptions import (
    ContactConflict,
    InvalidRequest,
    InvalidTransition,
    InvalidWindow,
    MaintenanceConflict,
    OutsidePass,
)
from scheduling.models import (
    ACTIVE_CONTACT_STATES,
    Contact,
    ContactEvent,
    ContactState,
    Pass,
)

logger = logging.getLogger(__name__)

PLANNER_ACTOR = "planner"
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
DEFAULT_FREEZE_S = 900.0
DEFAULT_BUDGET_S = 5.0
MAX_BUDGET_S = 120.0
MIN_CONTACT_S = 60.0

# The lifecycle. Terminal states (completed, failed, cancelled, aborted) go nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    ContactState.SCHEDULED: frozenset(
        {ContactState.IN_PROGRESS, ContactState.CANCELLED, ContactState.FAILED}
    ),
    ContactState.IN_PROGRESS: frozenset(
        {ContactState.COMPLETED, ContactState.FAILED, ContactState.ABORTED}
    ),
}

Progress = Callable[[float], None]


# --- lifecycle ---------------------------------------------------------------------------


def _record(
    *, contact: Contact, from_state: str, actor: str, reason: str, now: datetime
) -> ContactEvent:
    return ContactEvent.objects.create(
        contact=contact,
        from_state=from_state,
        to_state=contact.state,
        at=now,
        actor=actor[:150],
        reason=reason,
    )


def _move(*, row: Contact, to_state: str, actor: str, reason: str, now: datetime) -> Contact:
    """Change a locked row's state (checked against ``TRANSITIONS``) and record it."""
    if to_state not in TRANSITIONS.get(row.state, frozenset()):
        raise InvalidTransition(
            f"contact {row.pk} is {row.state}: it cannot become {to_state}",
            fields={"state": f"{row.state} -> {to_state} is not allowed"},
        )
    from_state = row.state
    row.state = to_state
    row.state_changed_at = now
    row.reason = reason
    row.save(update_fields=["state", "state_changed_at", "reason"])
    _record(contact=row, from_state=from_state, actor=actor, reason=reason, now=now)
    return row


@transaction.atomic
def contact_transition(
    *,
    contact: Contact,
    to_state: str,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Contact:
    """Move a contact along the lifecycle (``TRANSITIONS``), recording a ContactEvent.

    Raises :class:`InvalidTransition` (409) for a move the table does not allow,
    judged on the row as it is in the database, not as the caller last saw it.
    """
    row = Contact.objects.select_for_update().get(pk=contact.pk)
    return _move(row=row, to_state=to_state, actor=actor, reason=reason, now=now or timezone.now())


@transaction.atomic
def contact_cancel(
    *, contact: Contact, actor: str, reason: str = "", now: datetime | None = None
) -> Contact:
    """Cancel a scheduled contact, or abort one in progress.

    Completed, failed, cancelled and aborted contacts raise :class:`InvalidTransition`.
    """
    row = Contact.objects.select_for_update().get(pk=contact.pk)
    target = (
        ContactState.ABORTED if row.state == ContactState.IN_PROGRESS else ContactState.CANCELLED
    )
    return _move(row=row, to_state=target, actor=actor, reason=reason, now=now or timezone.now())


# --- conflicts -----------------------------------------------------------------------------


def _seconds(delta_s: float) -> timedelta:
    return timedelta(seconds=delta_s)


def _fmt(row: Contact) -> str:
    return f"contact {row.pk} ({row.start:%Y-%m-%dT%H:%M:%SZ}..{row.end:%H:%M:%SZ})"


def _antenna_clashes(
    *, station: GroundStation, start: datetime, end: datetime, rows: Iterable[Contact]
) -> list[list[Contact]]:
    """Per antenna, the contacts whose busy time (setup before, turnaround after) meets
    that of [start, end)."""
    setup, turn = _seconds(station.setup_s), _seconds(station.turnaround_s)
    lo, hi = start - setup, end + turn
    out: list[list[Contact]] = [[] for _ in range(station.antennas)]
    for r in rows:
        if 0 <= r.antenna < station.antennas and r.start - setup < hi and r.end + turn > lo:
            out[r.antenna].append(r)
    return out


def _free_antenna(
    *, station: GroundStation, start: datetime, end: datetime, rows: Iterable[Contact]
) -> tuple[int | None, Contact | None]:
    """The first antenna free for [start, end), or (None, the earliest contact in the way)."""
    clashes = _antenna_clashes(station=station, start=start, end=end, rows=rows)
    for antenna, in_way in enumerate(clashes):
        if not in_way:
            return antenna, None
    everything = [r for group in clashes for r in group]
    return None, min(everything, key=lambda r: (r.start, r.pk or 0))


def _radio_clash(
    *, spacecraft: Spacecraft, start: datetime, end: datetime, rows: Iterable[Contact]
) -> Contact | None:
    """A contact of the spacecraft in the way when all its radios are taken, else None."""
    overlapping = sorted(
        (r for r in rows if r.start < end and r.end > start), key=lambda r: (r.start, r.pk or 0)
    )
    # Conservative: counts every overlapping contact, not the peak at one instant.
    return overlapping[0] if len(overlapping) >= spacecraft.radios else None


def _maintenance_in_way(
    *, station: GroundStation, start: datetime, end: datetime
) -> MaintenanceWindow | None:
    return (
        MaintenanceWindow.objects.filter(
            station=station,
            starts_at__lt=end + _seconds(station.turnaround_s),
            ends_at__gt=start - _seconds(station.setup_s),
        )
        .order_by("starts_at")
        .first()
    )


def _lock(*, station_ids: Sequence[int], spacecraft_ids: Sequence[int]) -> None:
    list(GroundStation.objects.select_for_update().filter(pk__in=station_ids).order_by("pk"))
    list(Spacecraft.objects.select_for_update().filter(pk__in=spacecraft_ids).order_by("pk"))


def _active_near(
    *, station: GroundStation, spacecraft: Spacecraft, start: datetime, end: datetime
) -> tuple[list[Contact], list[Contact]]:
    margin = _seconds(station.setup_s + station.turnaround_s)
    at_station = list(
        Contact.objects.filter(
            station=station,
            state__in=ACTIVE_CONTACT_STATES,
            start__lt=end + margin,
            end__gt=start - margin,
        )
    )
    of_craft = list(
        Contact.objects.filter(
            spacecraft=spacecraft, state__in=ACTIVE_CONTACT_STATES, start__lt=end, end__gt=start
        )
    )
    return at_station, of_craft


def _capacities(
    *, spacecraft: Spacecraft, station: GroundStation, start: datetime, end: datetime
) -> tuple[int, int]:
    duration = (end - start).total_seconds()
    up = min(spacecraft.uplink_rate_bps, station.uplink_rate_bps) / 8.0 * duration
    down = min(spacecraft.downlink_rate_bps, station.downlink_rate_bps) / 8.0 * duration
    return int(up), int(down)


# --- manual booking --------------------------------------------------------------------------


def contact_book(
    *,
    spacecraft: Spacecraft,
    station: GroundStation,
    start: datetime,
    end: datetime,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Contact:
    """Book a contact by hand.

    Checked, in this order: the times (aware, at least ``MIN_CONTACT_S``, not in the
    past); the pass geometry (inside one stored pass of this spacecraft over this
    station: :class:`OutsidePass`); maintenance, with the antenna's setup and
    turnaround (:class:`MaintenanceConflict`); a free antenna, setup and turnaround
    included, then a free spacecraft radio (:class:`ContactConflict`, naming the
    contact in the way). All three are 409 at the API.
    """
    now = now or timezone.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("times must carry a timezone", fields={"start": "must be UTC"})
    if (end - start).total_seconds() < MIN_CONTACT_S:
        raise InvalidRequest(
            "contact too short", fields={"end": f"at least {MIN_CONTACT_S:g} s after start"}
        )
    if start < now:
        raise InvalidRequest("contact starts in the past", fields={"start": "must be after now"})
    if not spacecraft.active or not station.active:
        raise InvalidRequest(
            "spacecraft or station inactive", fields={"spacecraft": "both must be active"}
        )
    with transaction.atomic():
        _lock(station_ids=[station.pk], spacecraft_ids=[spacecraft.pk])
        station.refresh_from_db()
        spacecraft.refresh_from_db()
        pass_ = (
            Pass.objects.filter(
                spacecraft=spacecraft, station=station, aos__lte=start, los__gte=end
            )
            .order_by("aos")
            .first()
        )
        if pass_ is None:
            raise OutsidePass(
                f"{spacecraft.slug} has no stored pass over {station.slug} covering "
                f"{start:%Y-%m-%dT%H:%M:%SZ}..{end:%H:%M:%SZ}",
                fields={"start": "must lie inside one predicted pass (see /api/v1/passes)"},
            )
        window = _maintenance_in_way(station=station, start=start, end=end)
        if window is not None:
            raise MaintenanceConflict(
                f"{station.slug} is in maintenance {window.starts_at:%Y-%m-%dT%H:%M:%SZ}.."
                f"{window.ends_at:%Y-%m-%dT%H:%M:%SZ} (window {window.pk}), setup and "
                "turnaround included",
                fields={"start": f"overlaps maintenance window {window.pk}"},
            )
        at_station, of_craft = _active_near(
            station=station, spacecraft=spacecraft, start=start, end=end
        )
        antenna, clash = _free_antenna(station=station, start=start, end=end, rows=at_station)
        if antenna is None:
            assert clash is not None
            raise ContactConflict(
                f"every antenna of {station.slug} is busy (setup {station.setup_s} s, "
                f"turnaround {station.turnaround_s} s): clashes with {_fmt(clash)}",
                contact_id=clash.pk,
                fields={"start": f"antenna busy: clashes with contact {clash.pk}"},
            )
        radio_clash = _radio_clash(spacecraft=spacecraft, start=start, end=end, rows=of_craft)
        if radio_clash is not None:
            raise ContactConflict(
                f"{spacecraft.slug} has {spacecraft.radios} radio(s), all in use: clashes with "
                f"{_fmt(radio_clash)}",
                contact_id=radio_clash.pk,
                fields={"spacecraft": f"radios busy: clashes with contact {radio_clash.pk}"},
            )
        up, down = _capacities(spacecraft=spacecraft, station=station, start=start, end=end)
        row = Contact.objects.create(
            spacecraft=spacecraft,
            station=station,
            antenna=antenna,
            pass_ref=pass_,
            pass_aos=pass_.aos,
            pass_los=pass_.los,
            start=start,
            end=end,
            uplink_capacity_bytes=up,
            downlink_capacity_bytes=down,
            booked_by=actor[:150],
            manual=True,
            reason=reason or "booked by hand",
            state_changed_at=now,
        )
        _record(contact=row, from_state="", actor=actor, reason=row.reason, now=now)
    return row


# --- replanning ---------------------------------------------------------------------------


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
            (timescale.unix_seconds(m.starts_at), timescale.unix_seconds(m.ends_at))
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
        start_s=timescale.unix_seconds(row.start),
        end_s=timescale.unix_seconds(row.end),
        uplink_bytes=float(row.uplink_capacity_bytes),
        downlink_bytes=float(row.downlink_capacity_bytes),
    )


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidWindow("times must carry a timezone", fields={"start": "must be UTC"})
    if end <= start:
        raise InvalidWindow("window ends before it starts", fields={"end": "must be after start"})
    if end - start > MAX_WINDOW:
        raise InvalidWindow(
            "window too long", fields={"end": f"at most {MAX_WINDOW.days} days after start"}
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
) -> ReplanOutcome:
    """Replan the contacts of every active spacecraft over every active station in the
    window (default: now to now + 24 h) from the stored passes, and apply the diff.

    Contacts in progress, or starting before ``now + freeze_s``, are never touched:
    the planner plans around them. Scheduled contacts lying inside the window are
    the plan being revised: each is kept, or cancelled with the planner's reason
    (maintenance, no longer predicted, retimed, given to higher-value demand). Active
    contacts straddling the window's edges are outside its scope and left alone; a
    planned contact that would clash with one is skipped (reported in ``skipped``).

    Demand: transfers do not exist yet (issue 5 item 3), so the planner is given no
    transfer demand. Its objective then reduces to the small weight it gives every
    byte of capacity (x spacecraft priority), so the plan still maximises priority-
    weighted capacity. Once transfers exist their queue is passed here instead.
    """
    now = now or timezone.now()
    window_start = window_start or now
    window_end = window_end or window_start + DEFAULT_WINDOW
    _check_window(window_start, window_end)
    if freeze_s < 0:
        raise InvalidRequest("negative freeze", fields={"freeze_s": "must be >= 0"})
    if not 0 < budget_s <= MAX_BUDGET_S:
        raise InvalidRequest("bad budget", fields={"budget_s": f"must be in (0, {MAX_BUDGET_S:g}]"})
    frozen_until = now + _seconds(freeze_s)
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
                aos_s=timescale.unix_seconds(p.aos),
                los_s=timescale.unix_seconds(p.los),
                max_elevation_deg=p.max_elevation_deg,
                aos_clipped=p.aos_clipped,
                los_clipped=p.los_clipped,
            )
            for p in pass_rows
        ),
        spacecraft=tuple(_craft_spec(c) for c in crafts),
        stations=tuple(_station_spec(s, maintenance.get(s.pk, [])) for s in stations),
        transfers=(),  # no transfer demand until transfers exist: see the docstring
        window_start_s=timescale.unix_seconds(window_start),
        window_end_s=timescale.unix_seconds(window_end),
        min_duration_s=MIN_CONTACT_S,
        now_s=timescale.unix_seconds(now),
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
    _lock(station_ids=sorted(stations), spacecraft_ids=sorted(crafts))
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
        _move(row=row, to_state=ContactState.CANCELLED, actor=actor, reason=reason, now=now)
        removed.append(ContactChange("removed", row, entry.reason))
    for entry in result.diff:
        if entry.action != "added":
            continue
        c = entry.contact
        # No transfer demand yet: say what the contact is for instead of "waiting transfers".
        why = entry.reason.replace("for waiting transfers", "of capacity (no transfer demand yet)")
        craft, station = crafts[cast(int, c.spacecraft)], stations[cast(int, c.station)]
        start, end = timescale.to_datetime(c.start_s), timescale.to_datetime(c.end_s)
        at_station, of_craft = _active_near(station=station, spacecraft=craft, start=start, end=end)
        # The planner's antenna, if the database agrees it is free; else any free one.
        per_antenna = _antenna_clashes(station=station, start=start, end=end, rows=at_station)
        antenna: int | None = None
        clash: Contact | None = None
        if 0 <= c.antenna < station.antennas and not per_antenna[c.antenna]:
            antenna = c.antenna
        else:
            antenna, clash = _free_antenna(station=station, start=start, end=end, rows=at_station)
        clash = clash or _radio_clash(spacecraft=craft, start=start, end=end, rows=of_craft)
        if antenna is None or clash is not None:
            skipped.append(
                f"{craft.slug}@{station.slug} {start:%Y-%m-%dT%H:%M:%SZ}..{end:%H:%M:%SZ}: "
                f"clashes with {_fmt(clash) if clash else 'an existing contact'}"
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
        _record(contact=row, from_state="", actor=actor, reason=f"replan: {why}", now=now)
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
