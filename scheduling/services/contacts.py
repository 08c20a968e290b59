"""Contact writes: manual booking, the lifecycle (transitions, cancel) and the conflict
checks (antennas, radios, maintenance) that booking and the contact plan share.

Keyword-only and typed. The contact plan (replanning from stored passes) is
``contact_plan``; this module holds what both it and manual booking need.

Locking: every write locks the station rows, then the spacecraft rows, in primary-key
order (``lock_stations_and_spacecraft``), so a manual booking and a replan cannot both see
a free antenna or radio, and cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops.edge.access import check_spacecraft_allowed
from ops.fleet.models import GroundStation, MaintenanceWindow, Spacecraft
from scheduling.exceptions import (
    ContactConflict,
    InvalidRequest,
    InvalidTransition,
    MaintenanceConflict,
    OutsidePass,
)
from scheduling.models import ACTIVE_CONTACT_STATES, Contact, ContactEvent, ContactState, Pass


def min_contact_s() -> float:
    """The shortest contact worth booking (``ZENITH_MIN_CONTACT_S``, default 60 s)."""
    return float(settings.ZENITH_MIN_CONTACT_S)


def contact_event_record(
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


def seconds(delta_s: float) -> timedelta:
    return timedelta(seconds=delta_s)


def contact_label(row: Contact) -> str:
    return f"contact {row.pk} ({row.start:%Y-%m-%dT%H:%M:%SZ}..{row.end:%H:%M:%SZ})"


def lock_stations_and_spacecraft(
    *, station_ids: Sequence[int], spacecraft_ids: Sequence[int]
) -> None:
    list(GroundStation.objects.select_for_update().filter(pk__in=station_ids).order_by("pk"))
    list(Spacecraft.objects.select_for_update().filter(pk__in=spacecraft_ids).order_by("pk"))


def antenna_clashes(
    *, station: GroundStation, start: datetime, end: datetime, rows: Iterable[Contact]
) -> list[list[Contact]]:
    """Per antenna, the contacts whose busy time (setup before, turnaround after) meets
    that of [start, end)."""
    setup, turn = seconds(station.setup_s), seconds(station.turnaround_s)
    lo, hi = start - setup, end + turn
    out: list[list[Contact]] = [[] for _ in range(station.antennas)]
    for r in rows:
        if 0 <= r.antenna < station.antennas and r.start - setup < hi and r.end + turn > lo:
            out[r.antenna].append(r)
    return out


def free_antenna(
    *, station: GroundStation, start: datetime, end: datetime, rows: Iterable[Contact]
) -> tuple[int | None, Contact | None]:
    """The first antenna free for [start, end), or (None, the earliest contact in the way)."""
    clashes = antenna_clashes(station=station, start=start, end=end, rows=rows)
    for antenna, in_way in enumerate(clashes):
        if not in_way:
            return antenna, None
    everything = [r for group in clashes for r in group]
    return None, min(everything, key=lambda r: (r.start, r.pk or 0))


def radio_clash(
    *, spacecraft: Spacecraft, start: datetime, end: datetime, rows: Iterable[Contact]
) -> Contact | None:
    """A contact of the spacecraft in the way when all its radios are taken, else None."""
    overlapping = sorted(
        (r for r in rows if r.start < end and r.end > start), key=lambda r: (r.start, r.pk or 0)
    )
    # Conservative: counts every overlapping contact, not the peak at one instant.
    return overlapping[0] if len(overlapping) >= spacecraft.radios else None


def maintenance_in_way(
    *, station: GroundStation, start: datetime, end: datetime
) -> MaintenanceWindow | None:
    return (
        MaintenanceWindow.objects.filter(
            station=station,
            starts_at__lt=end + seconds(station.turnaround_s),
            ends_at__gt=start - seconds(station.setup_s),
        )
        .order_by("starts_at")
        .first()
    )


def active_contacts_near(
    *, station: GroundStation, spacecraft: Spacecraft, start: datetime, end: datetime
) -> tuple[list[Contact], list[Contact]]:
    margin = seconds(station.setup_s + station.turnaround_s)
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


def capacities(
    *, spacecraft: Spacecraft, station: GroundStation, start: datetime, end: datetime
) -> tuple[int, int]:
    duration = (end - start).total_seconds()
    up = min(spacecraft.uplink_rate_bps, station.uplink_rate_bps) / 8.0 * duration
    down = min(spacecraft.downlink_rate_bps, station.downlink_rate_bps) / 8.0 * duration
    return int(up), int(down)


# The lifecycle. Terminal states (completed, failed, cancelled, aborted) go nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    ContactState.SCHEDULED: frozenset(
        {ContactState.IN_PROGRESS, ContactState.CANCELLED, ContactState.FAILED}
    ),
    ContactState.IN_PROGRESS: frozenset(
        {ContactState.COMPLETED, ContactState.FAILED, ContactState.ABORTED}
    ),
}


def contact_move(*, row: Contact, to_state: str, actor: str, reason: str, now: datetime) -> Contact:
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
    contact_event_record(contact=row, from_state=from_state, actor=actor, reason=reason, now=now)
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
    return contact_move(
        row=row, to_state=to_state, actor=actor, reason=reason, now=now or timezone.now()
    )


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
    return contact_move(
        row=row, to_state=target, actor=actor, reason=reason, now=now or timezone.now()
    )


def contact_book(
    *,
    spacecraft: Spacecraft,
    station: GroundStation,
    start: datetime,
    end: datetime,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Contact:
    """Book a contact by hand.

    Checked, in this order: the times (aware, at least ``ZENITH_MIN_CONTACT_S``, not in the
    past); the pass geometry (inside one stored pass of this spacecraft over this
    station: :class:`OutsidePass`); maintenance, with the antenna's setup and
    turnaround (:class:`MaintenanceConflict`); a free antenna, setup and turnaround
    included, then a free spacecraft radio (:class:`ContactConflict`, naming the
    contact in the way). All three are 409 at the API.
    """
    check_spacecraft_allowed(
        allowed_spacecraft_ids=allowed_spacecraft_ids, spacecraft=[spacecraft], error=InvalidRequest
    )
    now = now or timezone.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("times must carry a timezone", fields={"start": "must be UTC"})
    shortest = min_contact_s()
    if (end - start).total_seconds() < shortest:
        raise InvalidRequest(
            "contact too short", fields={"end": f"at least {shortest:g} s after start"}
        )
    if start < now:
        raise InvalidRequest("contact starts in the past", fields={"start": "must be after now"})
    if not spacecraft.active or not station.active:
        raise InvalidRequest(
            "spacecraft or station inactive", fields={"spacecraft": "both must be active"}
        )
    with transaction.atomic():
        lock_stations_and_spacecraft(station_ids=[station.pk], spacecraft_ids=[spacecraft.pk])
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
        window = maintenance_in_way(station=station, start=start, end=end)
        if window is not None:
            raise MaintenanceConflict(
                f"{station.slug} is in maintenance {window.starts_at:%Y-%m-%dT%H:%M:%SZ}.."
                f"{window.ends_at:%Y-%m-%dT%H:%M:%SZ} (window {window.pk}), setup and "
                "turnaround included",
                fields={"start": f"overlaps maintenance window {window.pk}"},
            )
        at_station, of_craft = active_contacts_near(
            station=station, spacecraft=spacecraft, start=start, end=end
        )
        antenna, clash = free_antenna(station=station, start=start, end=end, rows=at_station)
        if antenna is None:
            assert clash is not None
            raise ContactConflict(
                f"every antenna of {station.slug} is busy (setup {station.setup_s} s, "
                f"turnaround {station.turnaround_s} s): clashes with {contact_label(clash)}",
                contact_id=clash.pk,
                fields={"start": f"antenna busy: clashes with contact {clash.pk}"},
            )
        busy_radio = radio_clash(spacecraft=spacecraft, start=start, end=end, rows=of_craft)
        if busy_radio is not None:
            raise ContactConflict(
                f"{spacecraft.slug} has {spacecraft.radios} radio(s), all in use: clashes with "
                f"{contact_label(busy_radio)}",
                contact_id=busy_radio.pk,
                fields={"spacecraft": f"radios busy: clashes with contact {busy_radio.pk}"},
            )
        up, down = capacities(spacecraft=spacecraft, station=station, start=start, end=end)
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
        contact_event_record(contact=row, from_state="", actor=actor, reason=row.reason, now=now)
    return row
