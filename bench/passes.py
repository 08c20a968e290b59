"""Pass search benchmark: Zenith's vectorised sweep versus Skyfield's ``find_events``.

Run ``.venv/bin/python bench/passes.py`` (``--quick`` for a small run). For each size
N spacecraft x M stations over 24 h (a Walker shell at 550 km / 53 deg built with
``Satrec.sgp4init``; stations spread over the globe with 5-10 deg horizons) it prints
our time, Skyfield's on the same inputs in the same run (for big sizes measured on a
subset of spacecraft and extrapolated linearly, said so in the table), passes found,
Skyfield events we miss (no event of the same kind within 1 s), events we report that
Skyfield does not, the worst AOS/LOS and culmination differences, and the speed-up.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from orbital import geometry, passes, propagation

EPOCH = datetime(2026, 11, 24, tzinfo=UTC)
MU_WGS72 = 398_600.8
RE_WGS72 = 6378.135
ALTITUDE_KM = 550.0
INCLINATION_DEG = 53.0
MATCH_S = 1.0


def walker_shell(count: int) -> list[Satrec]:
    """A Walker-delta shell: ``planes`` planes of equally spaced spacecraft."""
    planes = max(1, round(math.sqrt(count)))
    per_plane = math.ceil(count / planes)
    a = RE_WGS72 + ALTITUDE_KM
    n_rad_min = math.sqrt(MU_WGS72 / a**3) * 60.0
    epoch_days = (EPOCH - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    sats = []
    for index in range(count):
        plane, slot = index % planes, index // planes
        sat = Satrec()
        sat.sgp4init(
            WGS72,
            "i",
            10_000 + index,
            epoch_days,
            2.0e-5,  # bstar
            0.0,
            0.0,
            1.0e-4,  # eccentricity
            0.0,  # argument of perigee
            math.radians(INCLINATION_DEG),
            math.radians((360.0 * slot / per_plane + 7.0 * plane) % 360.0),
            n_rad_min,
            math.radians(360.0 * plane / planes),
        )
        sats.append(sat)
    return sats


def ground_stations(count: int) -> list[geometry.Station]:
    """Deterministic stations spread over latitudes -70..78 and all longitudes."""
    golden = (1 + 5**0.5) / 2
    stations = []
    for index in range(count):
        lat = -70.0 + 148.0 * ((index * golden) % 1.0)
        lon = (index * 137.508) % 360.0 - 180.0
        stations.append(
            geometry.station(
                latitude_deg=round(lat, 3),
                longitude_deg=round(lon, 3),
                altitude_m=100.0 * (index % 7),
                min_elevation_deg=5.0 + 5.0 * (index % 2),
                key=index,
            )
        )
    return stations


@dataclass
class Events:
    """Rise (0), culmination (1), set (2) events per (spacecraft, station) pair."""

    pair_sat: np.ndarray
    pair_sta: np.ndarray
    kind: np.ndarray
    t: np.ndarray  # POSIX seconds
    el: np.ndarray  # degrees (culminations)


def ours(table: passes.PassTable) -> Events:
    n = len(table)
    rows = []
    for kind, times, mask in (
        (0, table.aos_s, ~table.aos_clipped),
        (2, table.los_s, ~table.los_clipped),
    ):
        rows.append(
            (
                table.orbit_index[mask],
                table.station_index[mask],
                np.full(int(mask.sum()), kind),
                times[mask],
                np.full(int(mask.sum()), np.nan),
            )
        )
    owner = table.culmination_pass
    rows.append(
        (
            table.orbit_index[owner] if n else np.zeros(0, int),
            table.station_index[owner] if n else np.zeros(0, int),
            np.ones(owner.size, int),
            table.culmination_s,
            table.culmination_elevation_deg,
        )
    )
    return Events(*(np.concatenate([r[k] for r in rows]) for k in range(5)))


def skyfield_events(
    sats: list[Satrec], stations: list[geometry.Station], start: datetime, end: datetime
) -> tuple[Events, float]:
    """Skyfield's events for every pair, timed; then (untimed) its altitude at each peak."""
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    t0, t1 = ts.from_datetime(start), ts.from_datetime(end)
    tops = [wgs84.latlon(s.latitude_deg, s.longitude_deg, s.altitude_m) for s in stations]
    satellites = [EarthSatellite.from_satrec(satrec, ts) for satrec in sats]
    found = []
    began = time.perf_counter()
    for i, sat in enumerate(satellites):
        for g, (station, topos) in enumerate(zip(stations, tops, strict=True)):
            t, kinds = sat.find_events(topos, t0, t1, station.horizon.min_elevation_deg)
            found.append((i, g, t, kinds))
    elapsed = time.perf_counter() - began
    columns: list[list[float]] = [[], [], [], [], []]
    for i, g, t, kinds in found:
        if not len(t):
            continue
        unix = (t.tai - 2440587.5) * 86400.0 - np.asarray(t._leap_seconds())
        altitude = (satellites[i] - tops[g]).at(t).altaz()[0].degrees
        for column, values in zip(
            columns, ([i] * len(t), [g] * len(t), kinds, unix, altitude), strict=True
        ):
            column.extend(values)
    return Events(*(np.asarray(c) for c in columns)), elapsed


def compare(reference: Events, mine: Events) -> tuple[int, int, float, float]:
    """Skyfield events we miss and add (no event of the same kind within ``MATCH_S``),
    the worst AOS/LOS time difference and the worst peak-elevation difference."""

    def keyed(ev: Events) -> dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]]:
        out: dict[tuple[int, int, int], list[tuple[float, float]]] = {}
        for s, g, k, t, el in zip(ev.pair_sat, ev.pair_sta, ev.kind, ev.t, ev.el, strict=True):
            out.setdefault((int(s), int(g), int(k)), []).append((float(t), float(el)))
        return {key: tuple(np.array(v).T) for key, v in out.items()}  # type: ignore[misc]

    ref, got = keyed(reference), keyed(mine)
    missed = extra = 0
    worst_t = worst_el = 0.0
    empty = (np.zeros(0), np.zeros(0))
    for key in set(ref) | set(got):
        (a_t, a_el), (b_t, b_el) = ref.get(key, empty), got.get(key, empty)
        for t, el in zip(a_t, a_el, strict=True):
            nearest = int(np.argmin(np.abs(b_t - t))) if b_t.size else -1
            if nearest < 0 or abs(b_t[nearest] - t) > MATCH_S:
                missed += 1
            elif key[2] == 1:
                worst_el = max(worst_el, abs(b_el[nearest] - el))
            else:
                worst_t = max(worst_t, abs(b_t[nearest] - t))
        extra += sum(1 for t in b_t if not a_t.size or np.min(np.abs(a_t - t)) > MATCH_S)
    return missed, extra, worst_t, worst_el


def run(
    n_sats: int, n_stations: int, sky_subset: int | None, repeats: int, threads: int
) -> dict[str, object]:
    sats = walker_shell(n_sats)
    stations = ground_stations(n_stations)
    orbit_list = [propagation.TleOrbit(*export_tle(s), spacecraft=i) for i, s in enumerate(sats)]
    start, end = EPOCH, EPOCH + timedelta(hours=24)
    passes.find_passes(orbit_list[:5], stations, start, start + timedelta(hours=1))  # warm
    times = []
    table = None
    for _ in range(repeats):
        began = time.perf_counter()
        table = passes.find_passes(orbit_list, stations, start, end, threads=threads)
        times.append(time.perf_counter() - began)
    assert table is not None
    ours_s = statistics.median(times)
    subset = n_sats if sky_subset is None else min(sky_subset, n_sats)
    reference, sky_s = skyfield_events(sats[:subset], stations, start, end)
    mine = ours(table)
    in_subset = mine.pair_sat < subset
    mine_subset = Events(
        *(getattr(mine, f)[in_subset] for f in ("pair_sat", "pair_sta", "kind", "t", "el"))
    )
    missed, extra, worst, worst_el = compare(reference, mine_subset)
    sky_full = sky_s * n_sats / subset
    return {
        "size": f"{n_sats}x{n_stations}",
        "ours_s": ours_s,
        "passes": len(table),
        "sky_s": sky_full,
        "sky_note": ""
        if subset == n_sats
        else f"(measured {sky_s:.1f}s on {subset}, x{n_sats / subset:g})",
        "sky_events": len(reference.t),
        "missed": missed,
        "extra": extra,
        "worst_ms": worst * 1000.0,
        "worst_el": worst_el,
        "speedup": sky_full / ours_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, Skyfield subsets")
    parser.add_argument("--repeats", type=int, default=3, help="our time is the median")
    parser.add_argument("--threads", type=int, default=1, help="threads for our search")
    args = parser.parse_args()
    if args.quick:
        sizes = [(10, 5, None), (100, 10, 20), (1000, 20, 5)]
    else:
        sizes = [(10, 5, None), (100, 10, None), (1000, 20, 50)]
    print(
        f"passes over 24 h from {EPOCH:%Y-%m-%d}, Walker {ALTITUDE_KM:g} km / {INCLINATION_DEG:g} deg"
    )
    header = (
        f"{'size':>9} {'ours s':>8} {'passes':>7} {'skyfield s':>11} {'sky events':>10} "
        f"{'missed':>6} {'extra':>5} {'AOS/LOS diff':>12} {'peak diff':>10} {'speed-up':>8}"
    )
    print(header)
    for n_sats, n_stations, subset in sizes:
        row = run(n_sats, n_stations, subset, args.repeats, args.threads)
        print(
            f"{row['size']:>9} {row['ours_s']:8.3f} {row['passes']:7d} {row['sky_s']:11.1f} "
            f"{row['sky_events']:10d} {row['missed']:6d} {row['extra']:5d} "
            f"{row['worst_ms']:9.1f} ms {row['worst_el']:6.4f} deg {row['speedup']:7.0f}x "
            f"{row['sky_note']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
