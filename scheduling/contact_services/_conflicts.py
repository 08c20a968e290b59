"""Conflict checks shared by manual booking and replanning: antennas (with setup and
turnaround), spacecraft radios, maintenance, and the capacity of a contact."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ops.fleet.models import GroundStation, MaintenanceWindow, Spacecraft
from scheduling.contact_services._common import _seconds
from scheduling.models import ACTIVE_CONTACT_STATES, Contact


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
