"""The passes timeline: per station, predicted passes and booked contacts over a window,
maintenance, and conflicts; one pass with its sky track and the station's horizon."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ops.fleet.models import GroundStation, MaintenanceWindow
from scheduling import adapters
from scheduling.models import ACTIVE_CONTACT_STATES, Contact, Pass
from scheduling.selectors import contacts as contact_selectors
from scheduling.selectors import passes as pass_selectors

BEFORE = timedelta(hours=2)
HOURS_CHOICES = (12, 24, 48)
# Beyond this many passes in the window the timeline draws contacts only (a big fleet).
MAX_PASSES_DRAWN = 4000
SKY_POINTS = 360


@dataclass(frozen=True, slots=True)
class Conflict:
    contact_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Timeline:
    now: datetime
    start: datetime
    end: datetime
    stations: list[GroundStation]
    passes: list[Pass]
    passes_total: int
    contacts: list[Contact]
    maintenance: list[MaintenanceWindow]
    conflicts: dict[int, list[str]] = field(default_factory=dict)

    @property
    def passes_drawn(self) -> bool:
        return self.passes_total <= MAX_PASSES_DRAWN


def _overlaps(items: list[tuple[datetime, datetime, int]], capacity: int) -> dict[int, datetime]:
    """Items (start, end, id) that push the number at once above ``capacity``: each
    with the instant it happens (a sweep over the sorted edges)."""
    edges = sorted(
        [(s, 1, pk) for s, _e, pk in items] + [(e, -1, pk) for _s, e, pk in items],
        key=lambda edge: (edge[0], edge[1]),  # ends before starts at the same instant
    )
    active: set[int] = set()
    over: dict[int, datetime] = {}
    for at, step, pk in edges:
        if step > 0:
            active.add(pk)
            if len(active) > capacity:
                for other in active:
                    over.setdefault(other, at)
        else:
            active.discard(pk)
    return over


def find_conflicts(
    *,
    contacts: Iterable[Contact],
    stations: dict[int, GroundStation],
    maintenance: Iterable[MaintenanceWindow],
    radios: dict[int, int],
) -> dict[int, list[str]]:
    """Active contacts that cannot all happen as booked: inside station maintenance,
    more at once than a station has antennas (setup and turnaround included), or more
    at once than a spacecraft has radios. Booking prevents these; they appear when a
    maintenance window or an edit comes after the plan."""
    found: dict[int, list[str]] = {}
    active = [c for c in contacts if c.state in ACTIVE_CONTACT_STATES]
    windows: dict[int, list[MaintenanceWindow]] = {}
    for w in maintenance:
        windows.setdefault(w.station_id, []).append(w)
    by_station: dict[int, list[tuple[datetime, datetime, int]]] = {}
    by_craft: dict[int, list[tuple[datetime, datetime, int]]] = {}
    for c in active:
        station = stations.get(c.station_id)
        setup = timedelta(seconds=station.setup_s if station else 0)
        turnaround = timedelta(seconds=station.turnaround_s if station else 0)
        busy_from, busy_to = c.start - setup, c.end + turnaround
        for w in windows.get(c.station_id, []):
            if w.starts_at < busy_to and w.ends_at > busy_from:
                found.setdefault(c.pk, []).append(
                    f"station maintenance {w.starts_at:%H:%M}-{w.ends_at:%H:%M}"
                    + (f" ({w.reason})" if w.reason else "")
                )
        by_station.setdefault(c.station_id, []).append((busy_from, busy_to, c.pk))
        by_craft.setdefault(c.spacecraft_id, []).append((c.start, c.end, c.pk))
    for station_id, items in by_station.items():
        station = stations.get(station_id)
        capacity = station.antennas if station else 1
        for pk in _overlaps(items, capacity):
            found.setdefault(pk, []).append(f"more contacts than the station's {capacity} antennas")
    for craft_id, items in by_craft.items():
        for pk in _overlaps(items, radios.get(craft_id, 1)):
            found.setdefault(pk, []).append("more contacts at once than the spacecraft's radios")
    return found


def timeline(*, now: datetime, hours: int = 24) -> Timeline:
    """Everything the timeline draws from ``now - 2 h`` to ``now + hours``."""
    start, end = now - BEFORE, now + timedelta(hours=hours)
    stations = list(GroundStation.objects.filter(active=True).order_by("slug"))
    window_passes = pass_selectors.pass_list().filter(aos__lt=end, los__gt=start)
    total = window_passes.count()
    passes = list(window_passes.order_by("aos")) if total <= MAX_PASSES_DRAWN else []
    contacts = list(contact_selectors.contact_list().filter(end__gt=start, start__lt=end))
    maintenance = list(
        MaintenanceWindow.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by("starts_at")
    )
    radios = {c.spacecraft_id: c.spacecraft.radios for c in contacts}
    conflicts = find_conflicts(
        contacts=contacts,
        stations={s.pk: s for s in stations},
        maintenance=maintenance,
        radios=radios,
    )
    return Timeline(now, start, end, stations, passes, total, contacts, maintenance, conflicts)


@dataclass(frozen=True, slots=True)
class SkyTrack:
    pass_: Pass
    azimuth_deg: list[float]
    elevation_deg: list[float]
    mask_azimuth_deg: list[float]
    mask_elevation_deg: list[float]
    contacts: list[Contact]


def sky_track(*, pass_id: int) -> SkyTrack:
    """A pass's azimuth/elevation from AOS to LOS (about ``SKY_POINTS`` samples, from the
    orbit set it was predicted from) and its station's horizon all round."""
    found = pass_selectors.pass_get(pass_id=pass_id)
    step = max(1.0, found.duration_s / SKY_POINTS)
    look = pass_selectors.pass_look_angles(pass_=found, step_s=step)
    horizon = adapters.station_of(found.station).horizon
    mask_az = [float(a) for a in range(0, 361, 2)]
    mask_el = [float(e) for e in horizon.elevation_deg(mask_az)]
    contacts = list(Contact.objects.filter(pass_ref=found).order_by("start"))
    return SkyTrack(
        pass_=found,
        azimuth_deg=[float(a) for a in look.azimuth_deg],
        elevation_deg=[float(e) for e in look.elevation_deg],
        mask_azimuth_deg=mask_az,
        mask_elevation_deg=mask_el,
        contacts=contacts,
    )
