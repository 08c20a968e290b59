"""Pass prediction over all spacecraft x all stations in one vectorised sweep. Pure.

How a search runs (see ``find_passes``):

1. Spacecraft are grouped by a grid step suited to their orbit (a fraction of the
   perigee timescale r/v: 120 s for LEO, finer for GTO perigees, 240 s for GEO) and
   propagated once on that shared grid (``SatrecArray``).
2. On every 4th grid point (the *detection* grid) and for every spacecraft/station
   pair at once, ``w = u|u| - s|s| rho^2`` is formed from matrix products, where ``u``
   is the height of the spacecraft above the station's horizontal plane, ``rho`` the
   range and ``s`` the sine of the station's lowest horizon. ``w > 0`` exactly when
   the elevation is above that horizon. Unlike the elevation itself (which swings
   fast near zenith), ``w`` is a quadratic form of the position and varies on the
   orbital timescale, so a cubic through ``w`` and ``w'`` at two detection points
   bounds it tightly in between: passes whose peak barely clears the horizon between
   detection points are found by refining every such interval whose estimated peak
   comes within ``PEAK_MARGIN_DEG`` of the horizon (and dips likewise).
3. Each bracketed crossing (AOS rising, LOS falling) is refined by a safeguarded
   Newton iteration on ``w`` to 1 us, each maximum of elevation (culmination, TCA)
   by Newton on the derivative of sin(elevation). States between grid points come
   from a degree-7 Lagrange interpolant of the inertial positions (millimetres for
   LEO at 120 s; SGP4's own velocities are not used there because they are not the
   exact derivative of its positions, off by up to m/s in deep space).
4. Passes are clipped to the window: an AOS before the start (or a LOS after the
   end) is replaced by the window edge and flagged, never reported as a real AOS/LOS;
   a spacecraft always in view (GEO hub) gives one pass spanning the window with both
   ends clipped. Stations with an azimuth-dependent mask get their passes re-cut
   against the full mask (see ``_apply_masks``). Passes overlapping a station's
   maintenance are flagged.

Elevations are geometric unless ``refraction=True`` (see :mod:`scheduling.geometry`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from scheduling import geometry, orbits, timescale
from scheduling.geometry import Station
from scheduling.orbits import EARTH_ROTATION_RAD_S, Key
from scheduling.timescale import FloatArray

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
ProgressCallback = Callable[[float], None]

# Intervals whose estimated peak elevation comes within this of the horizon are
# refined. The cubic estimate is good to ~1e-4 deg for LEO, so this is a wide margin.
PEAK_MARGIN_DEG = 1.0
ROOT_TOLERANCE_S = 1e-6
DETECTION_STRIDE = 4
# Grid step as a fraction of the perigee timescale r/v, rounded down to these steps.
GRID_FRACTION = 0.14
GRID_STEPS_S = (15.0, 30.0, 60.0, 120.0, 240.0)
# Pair-arrays per chunk (spacecraft x detection points x stations) bound the memory.
CHUNK_ELEMENTS = 1_500_000
MASK_SAMPLE_S = (0.5, 10.0)


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

    orbits: tuple[orbits.Orbit, ...]
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
        to_dt = timescale.to_datetime
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


def _lagrange_matrices() -> tuple[FloatArray, FloatArray, FloatArray]:
    """Power-series weights of the 8-node Lagrange interpolant (nodes -3..4 steps).

    ``tau_powers @ M`` gives the node weights for a query ``tau`` in [0, 1); the
    other two matrices give the first and second derivatives (per unit tau).
    """
    nodes = np.arange(-3.0, 5.0)
    vandermonde = nodes[:, None] ** np.arange(8)[None, :]
    inverse = np.linalg.inv(vandermonde)  # (power, node)
    powers = np.arange(8)[:, None]
    first = (inverse * powers)[1:]  # d/dtau: row p-1 multiplies tau^(p-1)
    second = (inverse * powers * (powers - 1))[2:]
    return inverse, first, second


_LAGRANGE, _LAGRANGE_D1, _LAGRANGE_D2 = _lagrange_matrices()


@dataclass
class _Geometry:
    """Everything the refinements need about (spacecraft, station, time) triples."""

    u: FloatArray  # height above the station's horizontal plane, km
    rho2: FloatArray  # range squared, km^2
    du: FloatArray  # u'
    dv: FloatArray  # d . v (half the derivative of rho^2)
    ddu: FloatArray  # u''
    ddv: FloatArray  # |v|^2 + d . a
    east: FloatArray
    north: FloatArray

    @property
    def sin_el(self) -> FloatArray:
        return np.asarray(self.u / np.sqrt(self.rho2), dtype=np.float64)

    @property
    def elevation_deg(self) -> FloatArray:
        return np.asarray(np.degrees(np.arcsin(np.clip(self.sin_el, -1.0, 1.0))), np.float64)

    @property
    def azimuth_deg(self) -> FloatArray:
        return np.asarray(np.mod(np.degrees(np.arctan2(self.east, self.north)), 360.0))

    def w(self, c: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """w = u|u| - c rho^2 and its first two time derivatives."""
        abs_u = np.abs(self.u)
        w = self.u * abs_u - c * self.rho2
        dw = 2.0 * abs_u * self.du - 2.0 * c * self.dv
        ddw = 2.0 * np.sign(self.u) * self.du**2 + 2.0 * abs_u * self.ddu - 2.0 * c * self.ddv
        return w, dw, ddw

    def culmination(self) -> tuple[FloatArray, FloatArray]:
        """D = rho^3 d(sin el)/dt, zero at every maximum of elevation, and D'."""
        d = self.du * self.rho2 - self.u * self.dv
        d_prime = self.ddu * self.rho2 + self.du * self.dv - self.u * self.ddv
        return d, d_prime


@dataclass
class _Bucket:
    """Spacecraft sharing one propagation grid, with the stations' geometry."""

    grid_start_s: float
    step_s: float
    r_teme: FloatArray  # (S, N, 3)
    eop: timescale.EarthOrientation
    site_pos: FloatArray  # (G, 3)
    site_east: FloatArray
    site_north: FloatArray
    site_up: FloatArray

    def geometry(self, sat: IntArray, sta: IntArray, t: FloatArray) -> _Geometry:
        position = (t - self.grid_start_s) / self.step_s
        k = np.clip(np.floor(position).astype(np.intp), 3, self.r_teme.shape[1] - 5)
        tau = position - k
        powers = tau[:, None] ** np.arange(8)[None, :]
        nodes = self.r_teme[sat[:, None], k[:, None] + np.arange(-3, 5)[None, :]]  # (Q, 8, 3)
        r = np.einsum("qn,qnc->qc", powers @ _LAGRANGE, nodes)
        v = np.einsum("qn,qnc->qc", powers[:, :7] @ _LAGRANGE_D1, nodes) / self.step_s
        a = np.einsum("qn,qnc->qc", powers[:, :6] @ _LAGRANGE_D2, nodes) / self.step_s**2
        theta = timescale.gmst82(t, self.eop.ut1_minus_utc(t))
        cos_t, sin_t = np.cos(theta), np.sin(theta)
        w = EARTH_ROTATION_RAD_S
        px = cos_t * r[:, 0] + sin_t * r[:, 1]
        py = -sin_t * r[:, 0] + cos_t * r[:, 1]
        vx = cos_t * v[:, 0] + sin_t * v[:, 1] + w * py
        vy = -sin_t * v[:, 0] + cos_t * v[:, 1] - w * px
        # Earth-fixed acceleration: rotated inertial one, Coriolis, centrifugal.
        ax = cos_t * a[:, 0] + sin_t * a[:, 1] + 2.0 * w * vy + w * w * px
        ay = -sin_t * a[:, 0] + cos_t * a[:, 1] - 2.0 * w * vx + w * w * py
        p = np.stack([px, py, r[:, 2]], axis=1) - self.site_pos[sta]
        vel = np.stack([vx, vy, v[:, 2]], axis=1)
        acc = np.stack([ax, ay, a[:, 2]], axis=1)
        up = self.site_up[sta]
        return _Geometry(
            u=np.einsum("qc,qc->q", p, up),
            rho2=np.einsum("qc,qc->q", p, p),
            du=np.einsum("qc,qc->q", vel, up),
            dv=np.einsum("qc,qc->q", p, vel),
            ddu=np.einsum("qc,qc->q", acc, up),
            ddv=np.einsum("qc,qc->q", vel, vel) + np.einsum("qc,qc->q", p, acc),
            east=np.einsum("qc,qc->q", p, self.site_east[sta]),
            north=np.einsum("qc,qc->q", p, self.site_north[sta]),
        )


RootFunction = Callable[[IntArray, FloatArray], tuple[FloatArray, FloatArray]]


def _newton_bracketed(
    fun: RootFunction, lo: FloatArray, hi: FloatArray, f_lo_positive: BoolArray, guess: FloatArray
) -> FloatArray:
    """Roots of ``fun`` in brackets ``[lo, hi]`` (sign change), all at once.

    Newton steps, falling back to bisection whenever a step leaves the bracket, so it
    always converges; stops at ``ROOT_TOLERANCE_S``. ``fun(idx, t)`` returns the
    value and derivative for the brackets ``idx``.
    """
    lo, hi, t = lo.copy(), hi.copy(), np.clip(guess, lo, hi)
    active = np.arange(t.shape[0])
    for _ in range(60):
        if active.size == 0:
            break
        tt = t[active]
        value, slope = fun(active, tt)
        positive = value > 0
        same_as_lo = positive == f_lo_positive[active]
        lo[active] = np.where(same_as_lo, tt, lo[active])
        hi[active] = np.where(same_as_lo, hi[active], tt)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = value / slope
        new = tt - step
        a, b = lo[active], hi[active]
        bad = ~np.isfinite(new) | (new <= np.minimum(a, b)) | (new >= np.maximum(a, b))
        new = np.where(bad, 0.5 * (a + b), new)
        done = (np.abs(new - tt) < ROOT_TOLERANCE_S) | (value == 0) | (np.abs(b - a) < 1e-7)
        t[active] = np.where(value == 0, tt, new)
        active = active[~done]
    return t


def _cubic_extreme(
    f0: FloatArray, f1: FloatArray, d0: FloatArray, d1: FloatArray, maximum: bool
) -> tuple[FloatArray, FloatArray]:
    """Extreme value (and its position in [0, 1]) of the cubic Hermite through two points.

    ``d0``, ``d1`` are derivatives per unit interval. The derivative of the cubic is a
    quadratic whose root inside (0, 1) with the right curvature is the extreme.
    """
    # p(x) = f0 + d0 x + b x^2 + c x^3
    b = 3.0 * (f1 - f0) - 2.0 * d0 - d1
    c = 2.0 * (f0 - f1) + d0 + d1
    qa, qb, qc = 3.0 * c, 2.0 * b, d0
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))
        roots = np.stack([(-qb + disc) / (2.0 * qa), (-qb - disc) / (2.0 * qa)], axis=1)
        linear = -qc / qb
    roots = np.where(
        np.abs(qa)[:, None] < 1e-12 * (np.abs(qb) + np.abs(qc))[:, None], linear[:, None], roots
    )
    roots = np.clip(np.nan_to_num(roots, nan=0.5), 0.0, 1.0)
    values = f0[:, None] + roots * (d0[:, None] + roots * (b[:, None] + roots * c[:, None]))
    pick = np.argmax(values, axis=1) if maximum else np.argmin(values, axis=1)
    rows = np.arange(f0.shape[0])
    return values[rows, pick], roots[rows, pick]


# --- the search --------------------------------------------------------------------------------


@dataclass
class _Spans:
    """Intervals above the horizon for one chunk, before they are described."""

    sat: IntArray
    sta: IntArray
    aos: FloatArray
    los: FloatArray
    aos_clipped: BoolArray
    los_clipped: BoolArray
    culm_span: IntArray
    culm_t: FloatArray

    def take(self, keep: BoolArray) -> _Spans:
        """The spans where ``keep`` holds, with their culminations renumbered."""
        new_index = np.cumsum(keep) - 1
        culm_keep = keep[self.culm_span]
        return _Spans(
            sat=self.sat[keep],
            sta=self.sta[keep],
            aos=self.aos[keep],
            los=self.los[keep],
            aos_clipped=self.aos_clipped[keep],
            los_clipped=self.los_clipped[keep],
            culm_span=new_index[self.culm_span[culm_keep]],
            culm_t=self.culm_t[culm_keep],
        )


@dataclass
class _Described:
    """One chunk's passes, fully described (still indexed by chunk-local spacecraft)."""

    spans: _Spans
    tca: FloatArray
    max_elevation_deg: FloatArray
    aos_azimuth_deg: FloatArray
    tca_azimuth_deg: FloatArray
    los_azimuth_deg: FloatArray
    culm_elevation_deg: FloatArray


def grid_step_s(orbit: orbits.Orbit) -> float:
    """The propagation step for an orbit: see ``GRID_FRACTION``."""
    wanted = GRID_FRACTION * orbits.perigee_timescale_s(orbit)
    fitting = [step for step in GRID_STEPS_S if step <= wanted]
    return fitting[-1] if fitting else GRID_STEPS_S[0]


def find_passes(
    orbit_list: Sequence[orbits.Orbit],
    stations: Sequence[Station],
    start: datetime,
    end: datetime,
    *,
    min_culmination_deg: float | None = None,
    refraction: bool = False,
    eop: timescale.EarthOrientation | None = None,
    progress: ProgressCallback | None = None,
) -> PassTable:
    """Every pass of every orbit over every station between ``start`` and ``end``.

    ``min_culmination_deg`` drops passes whose highest elevation inside the window is
    lower. ``progress`` is called with the fraction done (0..1) as chunks complete.
    Orbits that cannot be propagated over the window are listed in ``errors``.
    """
    t0, t1 = timescale.unix_seconds(start), timescale.unix_seconds(end)
    if not t1 > t0:
        raise ValueError("end must be after start")
    eop = eop or timescale.bundled()
    all_orbits, all_stations = tuple(orbit_list), tuple(stations)
    errors: dict[int, str] = {}
    buckets: dict[float, list[int]] = {}
    for index, orbit in enumerate(all_orbits):
        try:
            buckets.setdefault(grid_step_s(orbit), []).append(index)
        except (ValueError, ZeroDivisionError, RuntimeError) as exc:
            errors[index] = f"cannot characterise orbit: {exc}"
    search = _Search(all_stations, t0, t1, refraction, eop)
    results: list[tuple[IntArray, _Described]] = []
    total = max(1, sum(len(v) for v in buckets.values()))
    done = 0
    for step, members in sorted(buckets.items()):
        for group, described in search.bucket(step, members, all_orbits, errors):
            results.append((group, described))
            done += len(group)
            if progress is not None:
                progress(min(0.99, done / total))
    table = _assemble(results, all_orbits, all_stations, t0, t1, refraction, errors)
    if min_culmination_deg is not None:
        table = _filter(table, table.max_elevation_deg >= min_culmination_deg)
    if progress is not None:
        progress(1.0)
    return table


class _Search:
    """State shared by all chunks of one search: stations, window, thresholds."""

    def __init__(
        self,
        stations: tuple[Station, ...],
        t0: float,
        t1: float,
        refraction: bool,
        eop: timescale.EarthOrientation,
    ) -> None:
        self.stations, self.t0, self.t1 = stations, t0, t1
        self.refraction, self.eop = refraction, eop
        sites = [s.site for s in stations]
        self.site_pos = np.array([s.position_km for s in sites]).reshape(-1, 3)
        self.site_up = np.array([s.up for s in sites]).reshape(-1, 3)
        self.site_east = np.array([s.east for s in sites]).reshape(-1, 3)
        self.site_north = np.array([s.north for s in sites]).reshape(-1, 3)
        # The sweep runs against each station's lowest horizon, as a geometric
        # elevation; stations whose horizon varies with azimuth are re-cut afterwards.
        self.threshold_deg = np.array(
            [geometry.geometric_threshold_deg(s.horizon.lowest_deg, refraction) for s in stations]
        )
        sine = np.sin(np.radians(self.threshold_deg))
        self.c = sine * np.abs(sine)
        self.masked = np.array([not s.horizon.is_flat for s in stations], dtype=bool)

    def _margin_factors(self) -> tuple[FloatArray, FloatArray]:
        """w / rho^2 at the horizon minus / plus ``PEAK_MARGIN_DEG``, per station."""
        low = np.sin(np.radians(np.maximum(self.threshold_deg - PEAK_MARGIN_DEG, -90.0)))
        high = np.sin(np.radians(np.minimum(self.threshold_deg + PEAK_MARGIN_DEG, 90.0)))
        return low * np.abs(low) - self.c, high * np.abs(high) - self.c

    def bucket(
        self,
        step: float,
        members: list[int],
        all_orbits: tuple[orbits.Orbit, ...],
        errors: dict[int, str],
    ) -> list[tuple[IntArray, _Described]]:
        """Search the spacecraft sharing one grid step, a chunk at a time."""
        stride = DETECTION_STRIDE * step
        grid_start = self.t0 - stride - 4.0 * step
        count = int(math.ceil((self.t1 + stride + 5.0 * step - grid_start) / step)) + 1
        grid = grid_start + step * np.arange(count, dtype=np.float64)
        det = (DETECTION_STRIDE + 4) + DETECTION_STRIDE * np.arange(
            int(math.ceil((self.t1 - self.t0) / stride)) + 3
        )
        det = det[det <= count - 6]
        stations = max(1, len(self.stations))
        chunk = max(1, CHUNK_ELEMENTS // (det.size * stations))
        out = []
        for first in range(0, len(members), chunk):
            group = np.asarray(members[first : first + chunk], dtype=np.intp)
            states = orbits.propagate([all_orbits[i] for i in group], grid, eop=self.eop)
            ok = np.array([err is None for err in states.errors], dtype=bool)
            for local, err in enumerate(states.errors):
                if err is not None:
                    errors[int(group[local])] = err
            if not ok.any() or not self.stations:
                continue
            bucket = _Bucket(
                grid_start_s=grid_start,
                step_s=step,
                r_teme=states.r_km[ok],
                eop=self.eop,
                site_pos=self.site_pos,
                site_east=self.site_east,
                site_north=self.site_north,
                site_up=self.site_up,
            )
            r_det, v_det = orbits.teme_to_ecef(
                states.r_km[ok][:, det], states.v_km_s[ok][:, det], states.theta[det]
            )
            spans = self._spans(bucket, r_det, v_det, grid[det])
            if self.masked.any():
                spans = self._recut_masks(bucket, spans)
            out.append((group[ok], self._describe(bucket, spans)))
        return out

    # -- 1. detection and crossings -----------------------------------------------------------

    def _spans(self, bucket: _Bucket, r: FloatArray, v: FloatArray, t_det: FloatArray) -> _Spans:
        c = self.c
        pos, up = self.site_pos, self.site_up
        # (S, J, G) pair arrays from matrix products; everything is O(S*J*G) once.
        u = r @ up.T - np.einsum("gc,gc->g", pos, up)
        du = v @ up.T
        rho2 = (
            np.einsum("sjc,sjc->sj", r, r)[..., None]
            - 2.0 * (r @ pos.T)
            + np.einsum("gc,gc->g", pos, pos)
        )
        dv = np.einsum("sjc,sjc->sj", r, v)[..., None] - v @ pos.T
        abs_u = np.abs(u)
        w = u * abs_u - c * rho2
        dw = 2.0 * abs_u * du - 2.0 * c * dv
        above = w > 0
        stride = float(t_det[1] - t_det[0])

        lo_s: list[IntArray] = []
        lo_j: list[IntArray] = []
        lo_g: list[IntArray] = []
        b_lo: list[FloatArray] = []
        b_hi: list[FloatArray] = []
        w_lo: list[FloatArray] = []
        w_hi: list[FloatArray] = []
        # Sign changes between detection points: one crossing each.
        s_i, j_i, g_i = np.nonzero(above[:, 1:] != above[:, :-1])
        lo_s.append(s_i)
        lo_j.append(j_i)
        lo_g.append(g_i)
        b_lo.append(t_det[j_i])
        b_hi.append(t_det[j_i + 1])
        w_lo.append(w[s_i, j_i, g_i])
        w_hi.append(w[s_i, j_i + 1, g_i])

        # Peaks of w between two points below the horizon, and dips between two above.
        k_low, k_high = self._margin_factors()
        for peak in (True, False):
            if peak:
                cand = (dw[:, :-1] > 0) & (dw[:, 1:] <= 0) & ~above[:, :-1] & ~above[:, 1:]
            else:
                cand = (dw[:, :-1] < 0) & (dw[:, 1:] >= 0) & above[:, :-1] & above[:, 1:]
            s_i, j_i, g_i = np.nonzero(cand)
            if s_i.size == 0:
                continue
            f0, f1 = w[s_i, j_i, g_i], w[s_i, j_i + 1, g_i]
            d0, d1 = dw[s_i, j_i, g_i] * stride, dw[s_i, j_i + 1, g_i] * stride
            extreme, _ = _cubic_extreme(f0, f1, d0, d1, maximum=peak)
            rho2_max = np.maximum(rho2[s_i, j_i, g_i], rho2[s_i, j_i + 1, g_i])
            if peak:
                near = extreme > k_low[g_i] * rho2_max
            else:
                near = extreme < k_high[g_i] * rho2_max
            s_i, j_i, g_i, f0, f1 = s_i[near], j_i[near], g_i[near], f0[near], f1[near]
            if s_i.size == 0:
                continue
            cg = c[g_i]

            def slope(
                idx: IntArray,
                t: FloatArray,
                s_i: IntArray = s_i,
                g_i: IntArray = g_i,
                cg: FloatArray = cg,
            ) -> tuple[FloatArray, FloatArray]:
                _, first, second = bucket.geometry(s_i[idx], g_i[idx], t).w(cg[idx])
                return first, second

            lo, hi = t_det[j_i], t_det[j_i + 1]
            t_ext = _newton_bracketed(slope, lo, hi, np.full(lo.shape, peak), 0.5 * (lo + hi))
            w_ext, _, _ = bucket.geometry(s_i, g_i, t_ext).w(cg)
            hit = w_ext > 0 if peak else w_ext <= 0
            for side in (0, 1):
                lo_s.append(s_i[hit])
                lo_j.append(j_i[hit])
                lo_g.append(g_i[hit])
                b_lo.append(lo[hit] if side == 0 else t_ext[hit])
                b_hi.append(t_ext[hit] if side == 0 else hi[hit])
                w_lo.append(f0[hit] if side == 0 else w_ext[hit])
                w_hi.append(w_ext[hit] if side == 0 else f1[hit])

        sat = np.concatenate(lo_s)
        sta = np.concatenate(lo_g)
        lo_t, hi_t = np.concatenate(b_lo), np.concatenate(b_hi)
        f_lo, f_hi = np.concatenate(w_lo), np.concatenate(w_hi)
        rising = ~(f_lo > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = lo_t + (hi_t - lo_t) * f_lo / (f_lo - f_hi)
        guess = np.where(np.isfinite(guess), guess, 0.5 * (lo_t + hi_t))
        cs = c[sta]

        def value(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
            w_val, first, _ = bucket.geometry(sat[idx], sta[idx], t).w(cs[idx])
            return w_val, first

        cross_t = _newton_bracketed(value, lo_t, hi_t, ~rising, guess)
        open_s, open_g = np.nonzero(above[:, 0, :])
        spans = self._pair_up(sat, sta, cross_t, rising, open_s, open_g, above.shape[2])
        return self._culminations(bucket, spans, t_det, u, rho2, du, dv)

    def _pair_up(
        self,
        sat: IntArray,
        sta: IntArray,
        t: FloatArray,
        rising: BoolArray,
        open_s: IntArray,
        open_g: IntArray,
        n_stations: int,
    ) -> _Spans:
        """Turn crossings into spans per (spacecraft, station), then clip to the window."""
        pair = np.concatenate([sat * n_stations + sta, open_s * n_stations + open_g])
        times = np.concatenate([t, np.full(open_s.shape, -np.inf)])
        up = np.concatenate([rising, np.ones(open_s.shape, dtype=bool)])
        order = np.lexsort((up, times, pair))
        pair, times, up = pair[order], times[order], up[order]
        # Numerically coincident crossings could repeat a direction: drop repeats.
        while True:
            same_pair = pair[1:] == pair[:-1]
            repeat = np.concatenate([[False], same_pair & (up[1:] == up[:-1])])
            first_is_set = np.concatenate([[True], ~same_pair]) & ~up
            drop = repeat | first_is_set
            if not drop.any():
                break
            pair, times, up = pair[~drop], times[~drop], up[~drop]
        last = np.concatenate([pair[1:] != pair[:-1], [True]]) if pair.size else np.zeros(0, bool)
        dangling = last & up
        if dangling.any():
            pair = np.concatenate([pair, pair[dangling]])
            times = np.concatenate([times, np.full(int(dangling.sum()), np.inf)])
            up = np.concatenate([up, np.zeros(int(dangling.sum()), dtype=bool)])
            order = np.lexsort((up, times, pair))
            pair, times, up = pair[order], times[order], up[order]
        aos, los = times[0::2], times[1::2]
        span_pair = pair[0::2]
        keep = (los > self.t0) & (aos < self.t1)
        aos, los, span_pair = aos[keep], los[keep], span_pair[keep]
        aos_clipped, los_clipped = aos < self.t0, los > self.t1
        return _Spans(
            sat=span_pair // n_stations,
            sta=span_pair % n_stations,
            aos=np.maximum(aos, self.t0),
            los=np.minimum(los, self.t1),
            aos_clipped=aos_clipped,
            los_clipped=los_clipped,
            culm_span=np.zeros(0, dtype=np.intp),
            culm_t=np.zeros(0),
        )

    # -- 2. culminations ------------------------------------------------------------------------

    def _culminations(
        self,
        bucket: _Bucket,
        spans: _Spans,
        t_det: FloatArray,
        u: FloatArray,
        rho2: FloatArray,
        du: FloatArray,
        dv: FloatArray,
    ) -> _Spans:
        """Every interior maximum of elevation in each span.

        Knots are the span's ends plus the detection points inside it; each change of
        sign of d(elevation)/dt from + to - between two knots brackets one maximum.
        """
        n = spans.aos.shape[0]
        if n == 0:
            return spans
        j_lo = np.searchsorted(t_det, spans.aos, side="right")
        j_hi = np.searchsorted(t_det, spans.los, side="left") - 1
        inner = np.maximum(j_hi - j_lo + 1, 0)
        knots = inner + 2
        span_of = np.repeat(np.arange(n), knots)
        offset = np.arange(span_of.size) - np.repeat(np.cumsum(knots) - knots, knots)
        is_first, is_last = offset == 0, offset == knots[span_of] - 1
        j = j_lo[span_of] + offset - 1
        t = np.where(is_first, spans.aos[span_of], np.where(is_last, spans.los[span_of], 0.0))
        interior = ~is_first & ~is_last
        t[interior] = t_det[j[interior]]
        d = np.empty(span_of.size)
        s_k, g_k = spans.sat[span_of], spans.sta[span_of]
        si, ji, gi = s_k[interior], j[interior], g_k[interior]
        d[interior] = du[si, ji, gi] * rho2[si, ji, gi] - u[si, ji, gi] * dv[si, ji, gi]
        ends = ~interior
        d[ends], _ = bucket.geometry(s_k[ends], g_k[ends], t[ends]).culmination()
        same = span_of[1:] == span_of[:-1]
        bracket = np.flatnonzero(same & (d[:-1] > 0) & (d[1:] <= 0))
        if bracket.size == 0:
            return spans
        lo, hi = t[bracket], t[bracket + 1]
        sat, sta = s_k[bracket], g_k[bracket]
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = lo + (hi - lo) * d[bracket] / (d[bracket] - d[bracket + 1])

        def value(idx: IntArray, tt: FloatArray) -> tuple[FloatArray, FloatArray]:
            return bucket.geometry(sat[idx], sta[idx], tt).culmination()

        root = _newton_bracketed(value, lo, hi, np.ones(lo.shape, dtype=bool), guess)
        owner = span_of[bracket]
        inside = (root > spans.aos[owner]) & (root < spans.los[owner])
        spans.culm_span, spans.culm_t = owner[inside], root[inside]
        return spans

    # -- 3. azimuth-dependent masks -------------------------------------------------------------

    def _mask_function(
        self, bucket: _Bucket, sat: IntArray, sta: IntArray, t: FloatArray
    ) -> FloatArray:
        """Apparent (or geometric) elevation minus the horizon at the current azimuth."""
        geo = bucket.geometry(sat, sta, t)
        el = geometry.apparent_elevation_deg(geo.elevation_deg, self.refraction)
        az = geo.azimuth_deg
        horizon = np.empty_like(el)
        for g in np.unique(sta):
            here = sta == g
            horizon[here] = self.stations[int(g)].horizon.elevation_deg(az[here])
        return np.asarray(el - horizon, dtype=np.float64)

    def _recut_masks(self, bucket: _Bucket, spans: _Spans) -> _Spans:
        """Cut spans of masked stations where the elevation is under the full mask.

        The mask is piecewise linear in azimuth, so the function is only piecewise
        smooth: it is sampled (0.5-10 s apart), short peaks above and dips below the
        mask between samples are found by golden-section search, and crossings are
        bisected to 1 us. One span can become several passes, or none.
        """
        masked = self.masked[spans.sta]
        if not masked.any():
            return spans
        flat = spans.take(~masked)
        work = spans.take(masked)
        n = work.aos.shape[0]
        length = work.los - work.aos
        step = np.clip(length / 200.0, *MASK_SAMPLE_S)
        counts = np.maximum(np.ceil(length / step).astype(np.intp), 1) + 1
        span_of = np.repeat(np.arange(n), counts)
        offset = np.arange(span_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
        t = work.aos[span_of] + length[span_of] * offset / (counts[span_of] - 1)
        sat, sta = work.sat[span_of], work.sta[span_of]
        f = self._mask_function(bucket, sat, sta, t)
        first = offset == 0
        last = offset == counts[span_of] - 1
        # An end that is a real AOS/LOS of the lowest horizon lies on or under the mask.
        f[first & ~work.aos_clipped[span_of]] = np.minimum(
            f[first & ~work.aos_clipped[span_of]], -1e-12
        )
        f[last & ~work.los_clipped[span_of]] = np.minimum(
            f[last & ~work.los_clipped[span_of]], -1e-12
        )

        def fn(idx: IntArray, tt: FloatArray) -> FloatArray:
            return self._mask_function(bucket, sat[idx], sta[idx], tt)

        same = span_of[1:] == span_of[:-1]
        lo_i = [np.flatnonzero(same & ((f[:-1] > 0) != (f[1:] > 0)))]
        lo_t, hi_t = [t[lo_i[0]]], [t[lo_i[0] + 1]]
        lo_pos = [f[lo_i[0]] > 0]
        centre = np.flatnonzero(same[:-1] & same[1:]) + 1
        for peak in (True, False):
            fc, fl, fr = f[centre], f[centre - 1], f[centre + 1]
            if peak:
                pick = centre[(fc >= fl) & (fc > fr) & (fc <= 0) & (fc > -2.0 * PEAK_MARGIN_DEG)]
            else:
                pick = centre[(fc <= fl) & (fc < fr) & (fc > 0) & (fc < 2.0 * PEAK_MARGIN_DEG)]
            if pick.size == 0:
                continue
            t_ext, f_ext = _golden(fn, pick, t[pick - 1], t[pick + 1], maximum=peak)
            hit = f_ext > 0 if peak else f_ext <= 0
            pick, t_ext = pick[hit], t_ext[hit]
            # Re-bracket around the extreme: [left sample, extreme], [extreme, right].
            lo_i += [pick, pick]
            lo_t += [t[pick - 1], t_ext]
            hi_t += [t_ext, t[pick + 1]]
            lo_pos += [np.full(pick.shape, not peak), np.full(pick.shape, peak)]
        idx = np.concatenate(lo_i)
        roots = _bisect(fn, idx, np.concatenate(lo_t), np.concatenate(hi_t), np.concatenate(lo_pos))
        rising = ~np.concatenate(lo_pos)
        owner = span_of[idx]
        # Segments per span: start open when the span starts above the mask.
        open_start = f[first] > 0
        ev_span = np.concatenate([owner, np.flatnonzero(open_start)])
        ev_t = np.concatenate([roots, work.aos[open_start]])
        ev_up = np.concatenate([rising, np.ones(int(open_start.sum()), dtype=bool)])
        order = np.lexsort((ev_up, ev_t, ev_span))
        ev_span, ev_t, ev_up = ev_span[order], ev_t[order], ev_up[order]
        if ev_span.size:
            dangling = np.concatenate([ev_span[1:] != ev_span[:-1], [True]]) & ev_up
            ends = ev_span[dangling]
            ev_span = np.concatenate([ev_span, ends])
            ev_t = np.concatenate([ev_t, work.los[ends]])
            ev_up = np.concatenate([ev_up, np.zeros(ends.shape, dtype=bool)])
            order = np.lexsort((ev_up, ev_t, ev_span))
            ev_span, ev_t = ev_span[order], ev_t[order]
        seg_span, seg_a, seg_b = ev_span[0::2], ev_t[0::2], ev_t[1::2]
        seg_a_clip = work.aos_clipped[seg_span] & (seg_a <= work.aos[seg_span])
        seg_b_clip = work.los_clipped[seg_span] & (seg_b >= work.los[seg_span])
        keep = seg_b > seg_a
        seg_span, seg_a, seg_b = seg_span[keep], seg_a[keep], seg_b[keep]
        seg_a_clip, seg_b_clip = seg_a_clip[keep], seg_b_clip[keep]
        # Culminations move to the segment containing them (or vanish, under the mask).
        c_span = work.culm_span
        c_t = work.culm_t
        key_seg = seg_span.astype(np.float64) * 1e10 + (seg_a - self.t0)
        key_c = c_span.astype(np.float64) * 1e10 + (c_t - self.t0)
        seg_of = np.searchsorted(key_seg, key_c, side="right") - 1
        valid = seg_of >= 0
        valid[valid] &= (seg_span[seg_of[valid]] == c_span[valid]) & (
            c_t[valid] < seg_b[seg_of[valid]]
        )
        recut = _Spans(
            sat=work.sat[seg_span],
            sta=work.sta[seg_span],
            aos=seg_a,
            los=seg_b,
            aos_clipped=seg_a_clip,
            los_clipped=seg_b_clip,
            culm_span=seg_of[valid],
            culm_t=c_t[valid],
        )
        return _concat_spans([flat, recut])

    # -- 4. description ---------------------------------------------------------------------------

    def _describe(self, bucket: _Bucket, spans: _Spans) -> _Described:
        n = spans.aos.shape[0]
        cs = spans.culm_span
        geo_c = bucket.geometry(spans.sat[cs], spans.sta[cs], spans.culm_t)
        geo_a = bucket.geometry(spans.sat, spans.sta, spans.aos)
        geo_b = bucket.geometry(spans.sat, spans.sta, spans.los)
        el_c = geometry.apparent_elevation_deg(geo_c.elevation_deg, self.refraction)
        el_a = geometry.apparent_elevation_deg(geo_a.elevation_deg, self.refraction)
        el_b = geometry.apparent_elevation_deg(geo_b.elevation_deg, self.refraction)
        # TCA: the highest of the culminations and the two ends (an end wins only when
        # the pass is clipped there, or cut by a mask while still rising or setting).
        span = np.concatenate([cs, np.arange(n), np.arange(n)])
        t = np.concatenate([spans.culm_t, spans.aos, spans.los])
        el = np.concatenate([el_c, el_a, el_b])
        az = np.concatenate([geo_c.azimuth_deg, geo_a.azimuth_deg, geo_b.azimuth_deg])
        order = np.lexsort((el, span))
        best = order[np.flatnonzero(np.concatenate([span[order][1:] != span[order][:-1], [True]]))]
        return _Described(
            spans=spans,
            tca=t[best],
            max_elevation_deg=el[best],
            aos_azimuth_deg=geo_a.azimuth_deg,
            tca_azimuth_deg=az[best],
            los_azimuth_deg=geo_b.azimuth_deg,
            culm_elevation_deg=el_c,
        )


def _concat_spans(parts: Sequence[_Spans]) -> _Spans:
    offsets = np.cumsum([0] + [p.aos.shape[0] for p in parts])
    return _Spans(
        sat=np.concatenate([p.sat for p in parts]),
        sta=np.concatenate([p.sta for p in parts]),
        aos=np.concatenate([p.aos for p in parts]),
        los=np.concatenate([p.los for p in parts]),
        aos_clipped=np.concatenate([p.aos_clipped for p in parts]),
        los_clipped=np.concatenate([p.los_clipped for p in parts]),
        culm_span=np.concatenate([p.culm_span + o for p, o in zip(parts, offsets, strict=False)]),
        culm_t=np.concatenate([p.culm_t for p in parts]),
    )


MaskFunction = Callable[[IntArray, FloatArray], FloatArray]


def _golden(
    fn: MaskFunction, idx: IntArray, lo: FloatArray, hi: FloatArray, *, maximum: bool
) -> tuple[FloatArray, FloatArray]:
    """Golden-section search for the extreme of ``fn`` in each ``[lo, hi]`` (to 1 ms)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    sign = 1.0 if maximum else -1.0
    a, b = lo.copy(), hi.copy()
    x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = sign * fn(idx, x1), sign * fn(idx, x2)
    while np.max(b - a, initial=0.0) > 1e-3:
        left = f1 > f2  # the extreme lies in [a, x2]
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
        x_new = np.where(left, b - ratio * (b - a), a + ratio * (b - a))
        f_new = sign * fn(idx, x_new)
        x1, f1, x2, f2 = (
            np.where(left, x_new, x2),
            np.where(left, f_new, f2),
            np.where(left, x1, x_new),
            np.where(left, f1, f_new),
        )
    t = 0.5 * (a + b)
    return t, fn(idx, t)


def _bisect(
    fn: MaskFunction, idx: IntArray, lo: FloatArray, hi: FloatArray, lo_positive: BoolArray
) -> FloatArray:
    """Crossings of ``fn`` by bisection to ``ROOT_TOLERANCE_S`` (it may have kinks)."""
    a, b = lo.copy(), hi.copy()
    while np.max(b - a, initial=0.0) > ROOT_TOLERANCE_S:
        mid = 0.5 * (a + b)
        positive = fn(idx, mid) > 0
        same = positive == lo_positive
        a = np.where(same, mid, a)
        b = np.where(same, b, mid)
    return 0.5 * (a + b)


# --- results -------------------------------------------------------------------------------


def _assemble(
    results: list[tuple[IntArray, _Described]],
    all_orbits: tuple[orbits.Orbit, ...],
    stations: tuple[Station, ...],
    t0: float,
    t1: float,
    refraction: bool,
    errors: dict[int, str],
) -> PassTable:
    def cat(values: list[npt.NDArray[np.generic]], dtype: type) -> npt.NDArray[np.generic]:
        return np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype=dtype)

    offsets = np.cumsum([0] + [d.spans.aos.shape[0] for _, d in results])
    orbit_index = cat([group[d.spans.sat] for group, d in results], np.intp)
    station_index = cat([d.spans.sta for _, d in results], np.intp)
    aos = cat([d.spans.aos for _, d in results], np.float64)
    los = cat([d.spans.los for _, d in results], np.float64)
    culm_pass = cat(
        [d.spans.culm_span + o for (_, d), o in zip(results, offsets, strict=False)], np.intp
    )
    in_maintenance = np.zeros(aos.shape, dtype=bool)
    for g, station in enumerate(stations):
        for start, stop in station.maintenance:
            in_maintenance |= (station_index == g) & (aos < stop) & (los > start)
    order = np.lexsort((station_index, orbit_index, aos))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    culm_pass = rank[culm_pass]
    culm_order = np.lexsort((cat([d.spans.culm_t for _, d in results], np.float64), culm_pass))
    return PassTable(
        orbits=all_orbits,
        stations=stations,
        start_s=t0,
        end_s=t1,
        refraction=refraction,
        orbit_index=orbit_index[order],
        station_index=station_index[order],
        aos_s=aos[order],
        tca_s=cat([d.tca for _, d in results], np.float64)[order],
        los_s=los[order],
        aos_clipped=cat([d.spans.aos_clipped for _, d in results], bool)[order],
        los_clipped=cat([d.spans.los_clipped for _, d in results], bool)[order],
        max_elevation_deg=cat([d.max_elevation_deg for _, d in results], np.float64)[order],
        aos_azimuth_deg=cat([d.aos_azimuth_deg for _, d in results], np.float64)[order],
        tca_azimuth_deg=cat([d.tca_azimuth_deg for _, d in results], np.float64)[order],
        los_azimuth_deg=cat([d.los_azimuth_deg for _, d in results], np.float64)[order],
        in_maintenance=in_maintenance[order],
        culmination_pass=culm_pass[culm_order],
        culmination_s=cat([d.spans.culm_t for _, d in results], np.float64)[culm_order],
        culmination_elevation_deg=cat([d.culm_elevation_deg for _, d in results], np.float64)[
            culm_order
        ],
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
