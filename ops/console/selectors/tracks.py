"""The world map: where every node is now and over the next minutes, one orbit of
ground track behind and ahead for the nodes shown, the stations and their visibility
footprints at their masks, and the night side."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ops.console.selectors.fleet import contacts_now
from ops.console.selectors.orbits import current_orbits, shadow_now
from ops.fleet import selectors as fleet_selectors
from ops.fleet.models import GroundStation, Role, Spacecraft
from orbital import groundtrack, propagation, timescales
from scheduling import adapters

# Positions are sent for the next minutes; the page moves the markers between them and
# fetches a new figure before they run out.
POSITION_STEP_S = 30.0
POSITION_SPAN_S = 15 * 60.0
TRACK_POINTS = 181
# Tracks for every node up to this many; beyond, for the nodes asked for.
ALL_TRACKS_UP_TO = 24
REFERENCE_ALTITUDE_KM = 550.0


@dataclass(frozen=True, slots=True)
class NodeTrack:
    craft: Spacecraft
    latitude_deg: list[float]
    longitude_deg: list[float]
    behind: int  # the first ``behind`` points are the orbit already flown


@dataclass(frozen=True, slots=True)
class StationMark:
    station: GroundStation
    footprint_lat: list[float]
    footprint_lon: list[float]


@dataclass(frozen=True, slots=True)
class WorldMap:
    now: datetime
    crafts: list[Spacecraft]  # with an orbit, in the order of the position arrays
    positions_t0: datetime
    positions_lat: list[list[float]]  # per craft, every POSITION_STEP_S
    positions_lon: list[list[float]]
    contact: dict[int, str]  # craft id -> station slug
    light: dict[int, str | None]
    tracks: list[NodeTrack]
    stations: list[StationMark]
    reference_altitude_km: float
    terminator_lon: list[float]
    terminator_lat: list[float]
    dark_pole: float
    subsolar: tuple[float, float]
    no_orbit: list[str]


def _rounded(values: Iterable[float]) -> list[float]:
    return [round(float(v), 3) for v in values]


def world_map(*, now: datetime, track_slugs: set[str] | None = None) -> WorldMap:
    crafts_all = list(fleet_selectors.spacecraft_list().filter(active=True).order_by("slug"))
    orbits = current_orbits(spacecraft=crafts_all)
    crafts = [c for c in crafts_all if c.pk in orbits]
    t0 = timescales.unix_seconds(now)
    steps = np.arange(0.0, POSITION_SPAN_S + 1.0, POSITION_STEP_S) + t0
    lat: list[list[float]] = []
    lon: list[list[float]] = []
    heights: list[float] = []
    if crafts:
        positions = groundtrack.ground_tracks([orbits[c.pk] for c in crafts], steps)
        for i, craft in enumerate(crafts):
            lat.append(_rounded(positions.latitude_deg[i]))
            lon.append(_rounded(positions.longitude_deg[i]))
            if craft.role == Role.LEO and np.isfinite(positions.height_km[i, 0]):
                heights.append(float(positions.height_km[i, 0]))
    if track_slugs is None:
        track_slugs = {c.slug for c in crafts} if len(crafts) <= ALL_TRACKS_UP_TO else set()
    tracks = []
    for craft in crafts:
        if craft.slug not in track_slugs:
            continue
        orbit: propagation.Orbit = orbits[craft.pk]
        period = groundtrack.period_s(orbit)
        times = np.linspace(t0 - period, t0 + period, TRACK_POINTS)
        one = groundtrack.ground_tracks([orbit], times)
        tracks.append(
            NodeTrack(
                craft=craft,
                latitude_deg=_rounded(one.latitude_deg[0]),
                longitude_deg=_rounded(one.longitude_deg[0]),
                behind=TRACK_POINTS // 2 + 1,
            )
        )
    altitude = statistics.median(heights) if heights else REFERENCE_ALTITUDE_KM
    stations = []
    for s in GroundStation.objects.filter(active=True).order_by("slug"):
        f_lat, f_lon = groundtrack.footprint(adapters.station_of(s), altitude)
        stations.append(StationMark(s, _rounded(f_lat), _rounded(f_lon)))
    t_lon, t_lat, pole = groundtrack.terminator(t0)
    light = shadow_now(orbits={c.pk: orbits[c.pk] for c in crafts}, now=now)
    return WorldMap(
        now=now,
        crafts=crafts,
        positions_t0=now,
        positions_lat=lat,
        positions_lon=lon,
        contact={c.spacecraft_id: c.station.slug for c in contacts_now(now=now)},
        light={pk: (s.state if s else None) for pk, s in light.items()},
        tracks=tracks,
        stations=stations,
        reference_altitude_km=altitude,
        terminator_lon=_rounded(t_lon),
        terminator_lat=_rounded(t_lat),
        dark_pole=pole,
        subsolar=groundtrack.subsolar_point(t0),
        no_orbit=[c.slug for c in crafts_all if c.pk not in orbits],
    )
