"""The fleet board: a tile per node (key gauges, last seen, contact, light, worst alert)
and the ground stations' state, in a fixed number of queries for any fleet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, Q

from ops.console.selectors import alerts as alert_reads
from ops.console.selectors.orbits import SHADOW_HORIZON, current_orbits, shadow_now
from ops.fleet import selectors as fleet_selectors
from ops.fleet.models import GroundStation, MaintenanceWindow, Role
from orbital import timescales
from scheduling.models import Contact, ContactState
from telemetry import selectors as telemetry_selectors
from telemetry.models import Metric

# The gauges on a tile, in the order drawn.
TILE_METRICS = (
    "battery_soc",
    "power_in_w",
    "power_draw_w",
    "gpu_temp_c",
    "gpu_util",
    "storage_used_bytes",
    "storage_free_bytes",
)


@dataclass(frozen=True, slots=True)
class Tile:
    id: int
    slug: str
    name: str
    role: str
    values: dict[str, tuple[datetime, float]]
    last_seen: datetime | None
    contact: str | None  # the station(s) of the contact(s) in progress
    next_aos: datetime | None  # the next booked contact's start
    light: str | None  # sunlit, penumbra, umbra; None without an orbit
    light_changes: tuple[tuple[datetime, str], ...] = ()
    alert: str | None = None  # the worst active alert's severity

    def value(self, name: str) -> float | None:
        found = self.values.get(name)
        return None if found is None else found[1]


@dataclass(frozen=True, slots=True)
class StationState:
    id: int
    slug: str
    name: str
    antennas: int
    busy: int  # contacts in progress
    maintenance_until: datetime | None  # in maintenance now, until then
    next_maintenance: datetime | None  # the next window's start, within a day


@dataclass(frozen=True, slots=True)
class FleetBoard:
    now: datetime
    horizon: datetime  # light changes are known until then
    tiles: list[Tile]
    stations: list[StationState]
    metrics: dict[str, Metric] = field(default_factory=dict)
    contacts: list[tuple[int, int, int]] = field(default_factory=list)  # id, craft, station
    # Every open alert of the board's nodes: the page recomputes a tile's worst alert from
    # these when one changes live. None: the person may not see alerts.
    alerts: list[alert_reads.AlertMark] | None = None

    @property
    def leo(self) -> list[Tile]:
        return [t for t in self.tiles if t.role != Role.GEO]

    @property
    def geo(self) -> list[Tile]:
        return [t for t in self.tiles if t.role == Role.GEO]


def contacts_now(*, now: datetime) -> list[Contact]:
    """Contacts holding a link now: in progress, or scheduled and inside their window
    (a runner about to claim it)."""
    return list(
        Contact.objects.filter(
            Q(state=ContactState.IN_PROGRESS)
            | Q(state=ContactState.SCHEDULED, start__lte=now, end__gt=now)
        )
        .select_related("station")
        .order_by("start")
    )


def next_aos(*, now: datetime) -> dict[int, datetime]:
    """The start of each spacecraft's next booked contact (one grouped query)."""
    rows = (
        Contact.objects.filter(state=ContactState.SCHEDULED, start__gt=now)
        .values("spacecraft_id")
        .annotate(first=Min("start"))
    )
    return {row["spacecraft_id"]: row["first"] for row in rows}


def station_states(*, now: datetime, contacts: list[Contact]) -> list[StationState]:
    stations = list(GroundStation.objects.filter(active=True).order_by("slug"))
    windows = MaintenanceWindow.objects.filter(
        ends_at__gt=now, starts_at__lt=now + timedelta(days=1)
    ).order_by("starts_at")
    current: dict[int, datetime] = {}
    upcoming: dict[int, datetime] = {}
    for w in windows:
        if w.starts_at <= now:
            current[w.station_id] = max(w.ends_at, current.get(w.station_id, w.ends_at))
        else:
            upcoming.setdefault(w.station_id, w.starts_at)
    busy: dict[int, int] = {}
    for c in contacts:
        busy[c.station_id] = busy.get(c.station_id, 0) + 1
    return [
        StationState(
            id=s.pk,
            slug=s.slug,
            name=s.name,
            antennas=s.antennas,
            busy=busy.get(s.pk, 0),
            maintenance_until=current.get(s.pk),
            next_maintenance=upcoming.get(s.pk),
        )
        for s in stations
    ]


def tile_metrics() -> dict[str, Metric]:
    found = Metric.objects.in_bulk(list(TILE_METRICS), field_name="name")
    return {name: found[name] for name in TILE_METRICS if name in found}


def fleet_board(*, now: datetime, alerts: bool) -> FleetBoard:
    """Every active node's tile (LEO first, then GEO, by slug) and the stations; with
    ``alerts``, each tile's worst open alert (for people who may see alerts)."""
    crafts = list(fleet_selectors.spacecraft_list().filter(active=True).order_by("role", "slug"))
    metrics = tile_metrics()
    latest = telemetry_selectors.latest_for_nodes(nodes=crafts, metrics=list(metrics.values()))
    contacts = contacts_now(now=now)
    in_contact: dict[int, str] = {}
    for c in contacts:  # a GEO hub's several radios: "santiago+wallops"
        seen = in_contact.get(c.spacecraft_id)
        in_contact[c.spacecraft_id] = f"{seen}+{c.station.slug}" if seen else c.station.slug
    upcoming = next_aos(now=now)
    light = shadow_now(orbits=current_orbits(spacecraft=crafts), now=now)
    marks = alert_reads.alert_marks(node_ids=[c.pk for c in crafts]) if alerts else None
    worst = alert_reads.worst_of(marks or [], now=now)
    tiles = []
    for craft in crafts:
        values = {name: (v.time, v.value) for name, v in latest.get(craft.pk, {}).items()}
        schedule = light.get(craft.pk)
        tiles.append(
            Tile(
                id=craft.pk,
                slug=craft.slug,
                name=craft.name,
                role=craft.role,
                values=values,
                last_seen=max((t for t, _ in values.values()), default=None),
                contact=in_contact.get(craft.pk),
                next_aos=upcoming.get(craft.pk),
                light=schedule.state if schedule else None,
                light_changes=tuple(
                    (timescales.to_datetime(t), state) for t, state in schedule.changes
                )
                if schedule
                else (),
                alert=worst.get(craft.pk),
            )
        )
    return FleetBoard(
        now=now,
        horizon=now + SHADOW_HORIZON,
        tiles=tiles,
        stations=station_states(now=now, contacts=contacts),
        metrics=metrics,
        contacts=[(c.pk, c.spacecraft_id, c.station_id) for c in contacts],
        alerts=marks,
    )


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _node_json(tile: Tile, now: datetime) -> dict[str, Any]:
    seen = iso(tile.last_seen)
    values = {name: value for name, (_ts, value) in tile.values.items()}
    # Most metrics of a node share the newest sample's time: only the others carry theirs.
    times = {name: iso(ts) for name, (ts, _v) in tile.values.items() if iso(ts) != seen}
    return {
        "id": tile.id,
        "seen": seen,
        "m": values,
        "mt": times,
        "contact": tile.contact,
        "next_aos": iso(tile.next_aos),
        "light": tile.light,
        # Light changes as whole seconds after ``now`` (compact: 500 nodes, several each).
        "lc": [[round((at - now).total_seconds()), state] for at, state in tile.light_changes],
        "alert": tile.alert,
    }


def board_json(board: FleetBoard) -> dict[str, Any]:
    """The board as the fleet page's script applies it (page load and every snapshot)."""
    return {
        "now": iso(board.now),
        "horizon": iso(board.horizon),
        "nodes": {t.slug: _node_json(t, board.now) for t in board.tiles},
        "stations": {
            s.slug: {
                "id": s.id,
                "busy": s.busy,
                "antennas": s.antennas,
                "maintenance_until": iso(s.maintenance_until),
            }
            for s in board.stations
        },
        "contacts": [
            {"id": pk, "spacecraft_id": craft, "station_id": station}
            for pk, craft, station in board.contacts
        ],
        # [id, node id, severity, shelved until]; null: this person sees no alerts.
        "alerts": None
        if board.alerts is None
        else [[m.id, m.spacecraft_id, m.severity, iso(m.shelved_until)] for m in board.alerts],
    }
