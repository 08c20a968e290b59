"""Pass prediction over all spacecraft x all stations in one vectorised sweep. Pure.

How a search runs (``find_passes``):

1. Spacecraft are grouped by a grid step suited to their orbit (``grid_step_s``: a
   fraction of the perigee timescale r/v; 240 s for LEO and GEO, 30-120 s for
   eccentric orbits) and propagated once on that shared grid (``SatrecArray``).
2. Every 240 s (the detection grid), for every spacecraft/station pair at once and
   from matrix products, ``f = u - s rho`` is formed: ``u`` is the height of the
   spacecraft above the station's horizontal plane, ``rho`` the range and ``s`` the
   sine of the station's lowest horizon, so ``f > 0`` exactly when the elevation is
   above it. A sign change of ``f`` brackets an AOS or LOS. Where ``f`` turns (peaks
   between two points below the horizon, or dips between two above), quintic models
   of ``u`` and ``rho^2`` through the states at both ends (smooth on the orbital
   timescale, unlike the elevation near zenith; good to ~1 m over 240 s of LEO)
   locate the extreme, and when it comes within ``PEAK_MARGIN_KM`` of zero it is
   refined exactly: passes shorter than a detection interval, whose peak barely
   clears the horizon between grid points, are found rather than missed.
3. Each AOS/LOS starts from the root of the models and is finished by a safeguarded
   Newton iteration on ``f`` (usually one step; it stops once a step is under
   ``ROOT_TOLERANCE_S``, leaving microseconds). Every maximum of elevation inside a
   pass (culmination; the highest is the TCA) is located on the models between the
   pass's knots (its ends and the detection points inside) and evaluated exactly
   there: at a maximum the elevation is flat, so a millisecond off in time is 1e-9
   deg. States between grid points come from a degree-7 Lagrange interpolant of the
   Earth-fixed positions (0.3 m in LEO at 240 s, 1 mm at GEO), never from SGP4's
   velocities, which are not the exact derivative of its positions.
4. Passes are clipped to the window: an AOS before the start (or a LOS after the
   end) becomes the window edge and is flagged (``aos_clipped``/``los_clipped``),
   never reported as a real AOS/LOS. A spacecraft always in view (GEO hub) gives one
   pass spanning the window, clipped at both ends. Passes over stations with an
   azimuth-dependent mask are re-cut against the full mask. Passes overlapping a
   station's maintenance are flagged, not dropped.

Conventions (see :mod:`orbital.geometry`): elevation is geometric (no refraction)
unless ``refraction=True``, then apparent; the horizon at azimuth ``az`` is
``max(min_elevation_deg, mask(az))``. Times are UTC; UT1 drives the Earth's rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from orbital import propagation, timescales
from orbital.geometry import Station
from orbital.passes.numeric import ROOT_TOLERANCE_S, BoolArray, IntArray
from orbital.passes.sweep import PEAK_MARGIN_KM, Grid, Search, Spans, concat_spans
from orbital.propagation import Key
from orbital.timescales import FloatArray

__all__ = [
    "PEAK_MARGIN_KM",
    "ROOT_TOLERANCE_S",
    "Pass",
    "PassTable",
    "Station",
    "find_passes",
    "grid_step_s",
]

ProgressCallback = Callable[[float], None]

# Grid step as a fraction of the perigee timescale r/v, rounded down to these steps.
GRID_FRACTION = 0.28
GRID_STEPS_S = (15.0, 30.0, 60.0, 120.0, 240.0)


@dataclass(frozen=True, slots=True)
class Pass:
    spacecraft: Key
    orbit_set: Key
    station: Key
    aos: datetime
    tca: datetime
    los: datetime
    aos_clipped: bool
    los_clipped: bool
    max_elevation_deg: float
    aos_azimuth_deg: float
    tca_azimuth_deg: float
    los_azimuth_deg: float
    culminations: tuple[datetime, ...]
    in_maintenance: bool

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


@dataclass(frozen=True)
class PassTable:
    """All passes of a search, column-wise (one row per pass), sorted by AOS.

    ``orbit_index`` and ``station_index`` index the inputs. Culminations (every
    interior maximum of elevation, as Skyfield's ``find_events`` reports them) are
    flattened: ``culmination_pass[k]`` is the row culmination ``k`` belongs to.
    ``errors`` maps an orbit index to why it could not be propagated.
    """

    orbits: tuple[propagation.Orbit, ...]
    stations: tuple[Station, ...]
    start_s: float
    end_s: float
    refraction: bool
    orbit_index: IntArray
    station_index: IntArray
    aos_s: FloatArray
    tca_s: FloatArray
    los_s: FloatArray
    aos_clipped: BoolArray
    los_clipped: BoolArray
    max_elevation_deg: FloatArray
    aos_azimuth_deg: FloatArray
    tca_azimuth_deg: FloatArray
    los_azimuth_deg: FloatArray
    in_maintenance: BoolArray
    culmination_pass: IntArray
    culmination_s: FloatArray
    culmination_elevation_deg: FloatArray
    errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.aos_s.shape[0])

    def passes(self) -> list[Pass]:
        to_dt = timescales.to_datetime
        order = np.argsort(self.culmination_pass, kind="stable")
        bounds = np.searchsorted(self.culmination_pass[order], np.arange(len(self) + 1))
        result = []
        for row in range(len(self)):
            orbit = self.orbits[int(self.orbit_index[row])]
            station = self.stations[int(self.station_index[row])]
            culm = self.culmination_s[order[bounds[row] : bounds[row + 1]]]
            result.append(
                Pass(
                    spacecraft=orbit.spacecraft,
                    orbit_set=orbit.orbit_set,
                    station=station.key,
                    aos=to_dt(float(self.aos_s[row])),
                    tca=to_dt(float(self.tca_s[row])),
                    los=to_dt(float(self.los_s[row])),
                    aos_clipped=bool(self.aos_clipped[row]),
                    los_clipped=bool(self.los_clipped[row]),
                    max_elevation_deg=float(self.max_elevation_deg[row]),
                    aos_azimuth_deg=float(self.aos_azimuth_deg[row]),
                    tca_azimuth_deg=float(self.tca_azimuth_deg[row]),
                    los_azimuth_deg=float(self.los_azimuth_deg[row]),
                    culminations=tuple(to_dt(float(t)) for t in np.sort(culm)),
                    in_maintenance=bool(self.in_maintenance[row]),
                )
            )
        return result

    def events(self, row: int) -> list[tuple[float, int]]:
        """Skyfield-style events of one pass: (time, 0 rise | 1 culminate | 2 set)."""
        out: list[tuple[float, int]] = []
        if not self.aos_clipped[row]:
            out.append((float(self.aos_s[row]), 0))
        mask = self.culmination_pass == row
        out.extend((float(t), 1) for t in np.sort(self.culmination_s[mask]))
        if not self.los_clipped[row]:
            out.append((float(self.los_s[row]), 2))
        return out


# --- interpolation and geometry on demand -------------------------------------------------


def grid_step_s(orbit: propagation.Orbit) -> float:
    """The propagation step for an orbit.

    A fraction of the perigee timescale r/v, smaller for eccentric orbits (whose
    perigee passage bends faster than r/v suggests), rounded down to ``GRID_STEPS_S``.
    Measured Lagrange interpolation errors with this rule: LEO 0.3 m (240 s), GEO 1 mm
    (240 s), e=0.3 4 cm (120 s), GTO and Molniya-like orbits under 1 cm (30-60 s).
    """
    ecc = propagation.eccentricity(orbit)
    wanted = GRID_FRACTION * propagation.perigee_timescale_s(orbit) / (1.0 + 3.0 * ecc)
    fitting = [step for step in GRID_STEPS_S if step <= wanted]
    return fitting[-1] if fitting else GRID_STEPS_S[0]


def find_passes(
    orbit_list: Sequence[propagation.Orbit],
    stations: Sequence[Station],
    start: datetime,
    end: datetime,
    *,
    min_culmination_deg: float | None = None,
    refraction: bool = False,
    eop: timescales.EarthOrientation | None = None,
    progress: ProgressCallback | None = None,
    threads: int = 1,
) -> PassTable:
    """Every pass of every orbit over every station between ``start`` and ``end``.

    ``min_culmination_deg`` drops passes whose highest elevation inside the window is
    lower. ``progress`` is called with the fraction done (0..1) as chunks complete.
    ``threads`` > 1 searches chunks of spacecraft concurrently (worth it on a machine
    with idle cores; a Celery worker already runs one search per core).
    Orbits that cannot be propagated over the window are listed in ``errors``.
    """
    t0, t1 = timescales.unix_seconds(start), timescales.unix_seconds(end)
    if not t1 > t0:
        raise ValueError("end must be after start")
    eop = eop or timescales.bundled()
    all_orbits, all_stations = tuple(orbit_list), tuple(stations)
    errors: dict[int, str] = {}
    buckets: dict[float, list[int]] = {}
    for index, orbit in enumerate(all_orbits):
        try:
            buckets.setdefault(grid_step_s(orbit), []).append(index)
        except (ValueError, ZeroDivisionError, RuntimeError) as exc:
            errors[index] = f"cannot characterise orbit: {exc}"
    search = Search(all_stations, t0, t1, refraction, eop)
    jobs = []
    for step, members in sorted(buckets.items()):
        grid = search.grid(step)
        for first in range(0, len(members), grid.chunk):
            jobs.append((grid, np.asarray(members[first : first + grid.chunk], dtype=np.intp)))
    results: list[tuple[IntArray, Spans]] = []
    total, done = max(1, len(all_orbits)), 0

    def run(job: tuple[Grid, IntArray]) -> tuple[IntArray, Spans | None, dict[int, str]]:
        return search.chunk(job[0], job[1], all_orbits)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        # numpy releases the GIL in its array loops, so chunks overlap on several cores.
        for (_, group), (ok_group, spans, chunk_errors) in zip(
            jobs, pool.map(run, jobs) if threads > 1 else map(run, jobs), strict=True
        ):
            errors.update(chunk_errors)
            if spans is not None:
                results.append((ok_group, spans))
            done += len(group)
            if progress is not None:
                progress(min(0.99, done / total))
    table = _assemble(results, all_orbits, all_stations, t0, t1, refraction, errors)
    if min_culmination_deg is not None:
        table = _filter(table, table.max_elevation_deg >= min_culmination_deg)
    if progress is not None:
        progress(1.0)
    return table


# --- results ---------------------------------------------------------------------------------


def _tca(spans: Spans) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Time, elevation and azimuth of the highest point of each span.

    Candidates are the culminations and the two ends: an end wins only when the pass
    is clipped there, or cut by a mask while still rising or setting.
    """
    # Start from the higher end, then let any higher culmination win.
    aos_higher = spans.aos_el >= spans.los_el
    t = np.where(aos_higher, spans.aos, spans.los)
    el = np.where(aos_higher, spans.aos_el, spans.los_el)
    az = np.where(aos_higher, spans.aos_az, spans.los_az)
    if spans.culm_span.size:
        # Culminations sorted by (span, elevation): the last of each span is its highest.
        order = np.argsort(spans.culm_span * 1000.0 + spans.culm_el, kind="stable")
        span = spans.culm_span[order]
        top = order[np.concatenate([span[1:] != span[:-1], [True]])]
        owner = spans.culm_span[top]
        wins = spans.culm_el[top] > el[owner]
        owner, top = owner[wins], top[wins]
        t[owner], el[owner], az[owner] = spans.culm_t[top], spans.culm_el[top], spans.culm_az[top]
    return t, el, az


def _assemble(
    results: list[tuple[IntArray, Spans]],
    all_orbits: tuple[propagation.Orbit, ...],
    stations: tuple[Station, ...],
    t0: float,
    t1: float,
    refraction: bool,
    errors: dict[int, str],
) -> PassTable:
    spans = concat_spans([s for _, s in results]) if results else None
    if spans is None or len(spans) == 0:
        empty_f, empty_i, empty_b = np.zeros(0), np.zeros(0, np.intp), np.zeros(0, bool)
        return PassTable(
            all_orbits,
            stations,
            t0,
            t1,
            refraction,
            empty_i,
            empty_i,
            empty_f,
            empty_f,
            empty_f,
            empty_b,
            empty_b,
            empty_f,
            empty_f,
            empty_f,
            empty_f,
            empty_b,
            empty_i,
            empty_f,
            empty_f,
            dict(sorted(errors.items())),
        )
    orbit_index = np.concatenate([group[s.sat] for group, s in results])
    tca, max_el, tca_az = _tca(spans)
    in_maintenance = np.zeros(len(spans), dtype=bool)
    for g, station in enumerate(stations):
        for start, stop in station.maintenance:
            in_maintenance |= (spans.sta == g) & (spans.aos < stop) & (spans.los > start)
    # Stable sort: ties in AOS keep the (deterministic) search order.
    order = np.argsort(spans.aos, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    culm_pass = rank[spans.culm_span]
    culm_order = np.argsort(culm_pass, kind="stable")  # already in time order per pass
    return PassTable(
        orbits=all_orbits,
        stations=stations,
        start_s=t0,
        end_s=t1,
        refraction=refraction,
        orbit_index=orbit_index[order],
        station_index=spans.sta[order],
        aos_s=spans.aos[order],
        tca_s=tca[order],
        los_s=spans.los[order],
        aos_clipped=spans.aos_clipped[order],
        los_clipped=spans.los_clipped[order],
        max_elevation_deg=max_el[order],
        aos_azimuth_deg=spans.aos_az[order],
        tca_azimuth_deg=tca_az[order],
        los_azimuth_deg=spans.los_az[order],
        in_maintenance=in_maintenance[order],
        culmination_pass=culm_pass[culm_order],
        culmination_s=spans.culm_t[culm_order],
        culmination_elevation_deg=spans.culm_el[culm_order],
        errors=dict(sorted(errors.items())),
    )


def _filter(table: PassTable, keep: BoolArray) -> PassTable:
    new_index = np.cumsum(keep) - 1
    culm_keep = keep[table.culmination_pass] if table.culmination_pass.size else np.zeros(0, bool)
    return PassTable(
        orbits=table.orbits,
        stations=table.stations,
        start_s=table.start_s,
        end_s=table.end_s,
        refraction=table.refraction,
        orbit_index=table.orbit_index[keep],
        station_index=table.station_index[keep],
        aos_s=table.aos_s[keep],
        tca_s=table.tca_s[keep],
        los_s=table.los_s[keep],
        aos_clipped=table.aos_clipped[keep],
        los_clipped=table.los_clipped[keep],
        max_elevation_deg=table.max_elevation_deg[keep],
        aos_azimuth_deg=table.aos_azimuth_deg[keep],
        tca_azimuth_deg=table.tca_azimuth_deg[keep],
        los_azimuth_deg=table.los_azimuth_deg[keep],
        in_maintenance=table.in_maintenance[keep],
        culmination_pass=new_index[table.culmination_pass[culm_keep]],
        culmination_s=table.culmination_s[culm_keep],
        culmination_elevation_deg=table.culmination_elevation_deg[culm_keep],
        errors=table.errors,
    )
