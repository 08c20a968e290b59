"""The sweep over all spacecraft x stations: detection, crossings, culminations, masks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scheduling import geometry, orbits, timescale
from scheduling.geometry import Station
from scheduling.passes._geometry import Bucket, interval_models
from scheduling.passes._numeric import (
    BoolArray,
    IntArray,
    bisect,
    golden,
    newton_bracketed,
    segment_index,
)
from scheduling.timescale import FloatArray

# Intervals whose modelled peak elevation comes within this of the horizon are refined
# exactly. The cubic models are good to ~0.01 deg in LEO, so this is a wide margin.
PEAK_MARGIN_DEG = 1.0
# Detection points every DETECTION_STEP_S, and at least every DETECTION_STRIDE grid steps.
DETECTION_STEP_S = 480.0
DETECTION_STRIDE = 4
# Pair arrays per chunk (spacecraft x detection points x stations): bounds memory.
CHUNK_ELEMENTS = 750_000
# Sampling of passes over stations with azimuth-dependent masks (seconds, min-max).
MASK_SAMPLE_S = (0.5, 10.0)
# Model-space (x in [0, 1]) tolerance of first guesses: ~1e-4 s over an interval.
_GUESS_TOLERANCE = 1e-7


def _empty() -> FloatArray:
    return np.zeros(0)


def _empty_index() -> IntArray:
    return np.zeros(0, dtype=np.intp)


@dataclass
class Spans:
    """Intervals above the horizon for one chunk, with what is known at their ends.

    ``*_state`` rows are u, rho2, du, dv (see ``PairState``); elevation and azimuth
    are apparent when refraction is on. Unknown end values are NaN until filled.
    """

    sat: IntArray
    sta: IntArray
    aos: FloatArray
    los: FloatArray
    aos_clipped: BoolArray
    los_clipped: BoolArray
    aos_state: FloatArray
    los_state: FloatArray
    aos_el: FloatArray
    aos_az: FloatArray
    los_el: FloatArray
    los_az: FloatArray
    culm_span: IntArray = field(default_factory=_empty_index)
    culm_t: FloatArray = field(default_factory=_empty)
    culm_el: FloatArray = field(default_factory=_empty)
    culm_az: FloatArray = field(default_factory=_empty)

    def __len__(self) -> int:
        return int(self.aos.shape[0])

    @classmethod
    def unknown_ends(
        cls,
        sat: IntArray,
        sta: IntArray,
        aos: FloatArray,
        los: FloatArray,
        aos_clipped: BoolArray,
        los_clipped: BoolArray,
    ) -> Spans:
        n = aos.shape[0]
        return cls(
            sat, sta, aos, los, aos_clipped, los_clipped,
            np.full((4, n), np.nan), np.full((4, n), np.nan),
            np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan),
        )  # fmt: skip

    def take(self, keep: BoolArray) -> Spans:
        """The spans where ``keep`` holds, with their culminations renumbered."""
        new_index = np.cumsum(keep) - 1
        culm_keep = keep[self.culm_span]
        return Spans(
            sat=self.sat[keep],
            sta=self.sta[keep],
            aos=self.aos[keep],
            los=self.los[keep],
            aos_clipped=self.aos_clipped[keep],
            los_clipped=self.los_clipped[keep],
            aos_state=self.aos_state[:, keep],
            los_state=self.los_state[:, keep],
            aos_el=self.aos_el[keep],
            aos_az=self.aos_az[keep],
            los_el=self.los_el[keep],
            los_az=self.los_az[keep],
            culm_span=new_index[self.culm_span[culm_keep]],
            culm_t=self.culm_t[culm_keep],
            culm_el=self.culm_el[culm_keep],
            culm_az=self.culm_az[culm_keep],
        )

    def fill_ends(self, bucket: Bucket, refraction: bool) -> None:
        """Evaluate the end values still unknown (clipped ends, ends cut by a mask)."""
        for times, state, el, az in (
            (self.aos, self.aos_state, self.aos_el, self.aos_az),
            (self.los, self.los_state, self.los_el, self.los_az),
        ):
            missing = np.flatnonzero(np.isnan(el))
            if missing.size == 0:
                continue
            pair = bucket.state(self.sat[missing], self.sta[missing], times[missing])
            state[:, missing] = pair.stack()
            el[missing] = geometry.apparent_elevation_deg(pair.elevation_deg, refraction)
            az[missing] = pair.azimuth_deg


def concat_spans(parts: Sequence[Spans]) -> Spans:
    offsets = np.cumsum([0] + [len(p) for p in parts])

    def cat(name: str) -> npt.NDArray[np.generic]:
        return np.concatenate([getattr(p, name) for p in parts], axis=-1)

    return Spans(
        sat=cat("sat"),
        sta=cat("sta"),
        aos=cat("aos"),
        los=cat("los"),
        aos_clipped=cat("aos_clipped"),
        los_clipped=cat("los_clipped"),
        aos_state=cat("aos_state"),
        los_state=cat("los_state"),
        aos_el=cat("aos_el"),
        aos_az=cat("aos_az"),
        los_el=cat("los_el"),
        los_az=cat("los_az"),
        culm_span=np.concatenate([p.culm_span + o for p, o in zip(parts, offsets, strict=False)]),
        culm_t=cat("culm_t"),
        culm_el=cat("culm_el"),
        culm_az=cat("culm_az"),
    )


@dataclass
class Detection:
    """Pair arrays (S, J, G) of one chunk on its detection grid ``t`` (J,)."""

    t: FloatArray
    u: FloatArray
    rho2: FloatArray
    du: FloatArray
    dv: FloatArray

    def state(self, s: IntArray, j: IntArray, g: IntArray) -> FloatArray:
        """Rows u, rho2, du, dv at the given (spacecraft, point, station) triples."""
        _, points, stations = self.u.shape
        flat = (s * points + j) * stations + g
        return np.stack([np.take(a, flat) for a in (self.u, self.rho2, self.du, self.dv)])


@dataclass(frozen=True)
class Grid:
    """A uniform propagation grid, its detection points and the chunk size over it."""

    step: float
    times: FloatArray
    det: IntArray
    chunk: int


class Search:
    """One search: the stations, the window and what follows from them."""

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
        # elevation (refraction only moves it); masked stations are re-cut afterwards.
        threshold = np.array(
            [geometry.geometric_threshold_deg(s.horizon.lowest_deg, refraction) for s in stations]
        )
        sine = np.sin(np.radians(threshold))
        self.c = sine * np.abs(sine)
        low = np.sin(np.radians(np.maximum(threshold - PEAK_MARGIN_DEG, -90.0)))
        high = np.sin(np.radians(np.minimum(threshold + PEAK_MARGIN_DEG, 90.0)))
        # w / rho^2 at the horizon minus and plus the margin.
        self.k_low = low * np.abs(low) - self.c
        self.k_high = high * np.abs(high) - self.c
        self.masked = np.array([not s.horizon.is_flat for s in stations], dtype=bool)

    def grid(self, step: float) -> Grid:
        """The propagation and detection grids for one grid step.

        The grid starts four steps before the first detection point (one detection
        stride before the window) and ends five after the last, so that every
        interpolation has its eight nodes.
        """
        stride = max(1, min(DETECTION_STRIDE, round(DETECTION_STEP_S / step)))
        lead = (stride + 4) * step
        count = math.ceil((self.t1 - self.t0 + 2 * lead + step) / step) + 1
        times = self.t0 - lead + step * np.arange(count, dtype=np.float64)
        det = (stride + 4) + stride * np.arange(math.ceil((self.t1 - self.t0) / step / stride) + 3)
        det = det[det <= count - 6]
        chunk = max(1, CHUNK_ELEMENTS // (det.size * max(1, len(self.stations))))
        return Grid(step, times, det, chunk)

    def chunk(
        self, grid: Grid, group: IntArray, all_orbits: tuple[orbits.Orbit, ...]
    ) -> tuple[IntArray, Spans | None, dict[int, str]]:
        """Search one chunk of spacecraft sharing ``grid``: their spans, and failures."""
        states = orbits.propagate([all_orbits[i] for i in group], grid.times, eop=self.eop)
        errors = {int(group[k]): e for k, e in enumerate(states.errors) if e is not None}
        ok = np.array([e is None for e in states.errors], dtype=bool)
        if not ok.any() or not self.stations:
            return group[ok], None, errors
        r, v = orbits.teme_to_ecef(states.r_km[ok], states.v_km_s[ok], states.theta)
        bucket = Bucket(
            grid_start_s=float(grid.times[0]),
            step_s=grid.step,
            nodes=grid.times.size,
            r_flat=np.ascontiguousarray(r.reshape(-1, 3)),
            site_pos=self.site_pos,
            site_east=self.site_east,
            site_north=self.site_north,
            site_up=self.site_up,
        )
        detection = self._detect(r[:, grid.det], v[:, grid.det], grid.times[grid.det])
        spans = self._spans(bucket, detection)
        spans.fill_ends(bucket, self.refraction)
        self._culminations(bucket, spans, detection)
        if self.masked.any():
            spans = self._recut_masks(bucket, spans)
        return group[ok], spans, errors

    # -- 1. detection and crossings -----------------------------------------------------------

    def _detect(self, r: FloatArray, v: FloatArray, t: FloatArray) -> Detection:
        """Pair arrays for every spacecraft and station at every detection point.

        Matrix products over all pairs at once; O(S * J * G) and done once per chunk.
        """
        pos, up = self.site_pos, self.site_up
        return Detection(
            t=t,
            u=r @ up.T - np.einsum("gc,gc->g", pos, up),
            rho2=(
                np.einsum("sjc,sjc->sj", r, r)[..., None]
                - 2.0 * (r @ pos.T)
                + np.einsum("gc,gc->g", pos, pos)
            ),
            du=v @ up.T,
            dv=np.einsum("sjc,sjc->sj", r, v)[..., None] - v @ pos.T,
        )

    def _spans(self, bucket: Bucket, det: Detection) -> Spans:
        """Spans above each station's lowest horizon (still unclipped by masks).

        ``w = u|u| - c rho^2`` is positive exactly above the horizon; a sign change of
        ``w`` between detection points brackets one crossing, and an interval where
        ``w`` peaks (or dips) without changing sign is checked with cubic models of
        ``u`` and ``rho^2`` and, when the peak comes near the horizon, refined exactly:
        this is what finds passes shorter than a detection interval.
        """
        c = self.c
        abs_u = np.abs(det.u)
        w = det.u * abs_u - c * det.rho2
        dw = 2.0 * abs_u * det.du - 2.0 * c * det.dv
        above = w > 0
        width_det = float(det.t[1] - det.t[0])
        # Brackets: spacecraft, station, [lo, hi], w at both ends, states at both ends.
        parts: list[tuple[npt.NDArray[np.generic], ...]] = []
        s_i, j_i, g_i = np.nonzero(above[:, 1:] != above[:, :-1])
        parts.append(
            (
                s_i,
                g_i,
                det.t[j_i],
                det.t[j_i + 1],
                w[s_i, j_i, g_i],
                w[s_i, j_i + 1, g_i],
                det.state(s_i, j_i, g_i),
                det.state(s_i, j_i + 1, g_i),
            )
        )
        for peak in (True, False):
            if peak:
                cand = (dw[:, :-1] > 0) & (dw[:, 1:] <= 0) & ~above[:, :-1] & ~above[:, 1:]
            else:
                cand = (dw[:, :-1] < 0) & (dw[:, 1:] >= 0) & above[:, :-1] & above[:, 1:]
            s_i, j_i, g_i = np.nonzero(cand)
            if s_i.size:
                parts.extend(self._extremes(bucket, det, s_i, j_i, g_i, w, width_det, peak))
        sat, sta, lo, hi, f_lo, f_hi = (np.concatenate([p[k] for p in parts]) for k in range(6))
        lo_state = np.concatenate([p[6] for p in parts], axis=1)
        hi_state = np.concatenate([p[7] for p in parts], axis=1)
        cs = c[sta]
        width = hi - lo
        u_model, rho2_model = interval_models(lo_state, hi_state, width)

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            u, du, _ = u_model.at(idx, x)
            rho2, drho2, _ = rho2_model.at(idx, x)
            return u * np.abs(u) - cs[idx] * rho2, 2.0 * np.abs(u) * du - cs[idx] * drho2, u[:0]

        with np.errstate(divide="ignore", invalid="ignore"):
            secant = np.clip(f_lo / (f_lo - f_hi), 0.0, 1.0)
        x, _ = newton_bracketed(
            model, np.zeros_like(lo), np.ones_like(lo), f_lo > 0, secant, 0, _GUESS_TOLERANCE
        )
        refraction = self.refraction

        def exact(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            state = bucket.state(sat[idx], sta[idx], t)
            w_val, dw_val = state.w(cs[idx])
            el = geometry.apparent_elevation_deg(state.elevation_deg, refraction)
            return w_val, dw_val, np.vstack([state.stack(), el, state.azimuth_deg])

        cross_t, aux = newton_bracketed(exact, lo, hi, f_lo > 0, lo + x * width, aux_rows=6)
        open_s, open_g = np.nonzero(above[:, 0, :])
        return self._pair_up(sat, sta, cross_t, ~(f_lo > 0), aux, open_s, open_g)

    def _extremes(
        self,
        bucket: Bucket,
        det: Detection,
        s_i: IntArray,
        j_i: IntArray,
        g_i: IntArray,
        w: FloatArray,
        width: float,
        peak: bool,
    ) -> list[tuple[npt.NDArray[np.generic], ...]]:
        """Crossing brackets around peaks of ``w`` that clear the horizon (or dips under it)."""
        lo_state, hi_state = det.state(s_i, j_i, g_i), det.state(s_i, j_i + 1, g_i)
        u_model, rho2_model = interval_models(lo_state, hi_state, np.full(s_i.shape, width))
        cg = self.c[g_i]

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            u, du, ddu = u_model.at(idx, x)
            _, drho2, ddrho2 = rho2_model.at(idx, x)
            slope = 2.0 * np.abs(u) * du - cg[idx] * drho2
            curvature = 2.0 * np.sign(u) * du**2 + 2.0 * np.abs(u) * ddu - cg[idx] * ddrho2
            return slope, curvature, u[:0]

        count = s_i.shape[0]
        x, _ = newton_bracketed(
            model,
            np.zeros(count),
            np.ones(count),
            np.full(count, peak),
            np.full(count, 0.5),
            0,
            _GUESS_TOLERANCE,
        )
        all_idx = np.arange(count)
        u_x, _, _ = u_model.at(all_idx, x)
        rho2_x, _, _ = rho2_model.at(all_idx, x)
        w_x = u_x * np.abs(u_x) - cg * rho2_x
        near = w_x > self.k_low[g_i] * rho2_x if peak else w_x < self.k_high[g_i] * rho2_x
        if not near.any():
            return []
        s_i, j_i, g_i, x, cg = s_i[near], j_i[near], g_i[near], x[near], cg[near]

        def exact(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            state = bucket.state(s_i[idx], g_i[idx], t, accel=True, angles=False)
            w_val, dw_val = state.w(cg[idx])
            return dw_val, state.w_curvature(cg[idx]), np.vstack([state.stack(), w_val])

        lo, hi = det.t[j_i], det.t[j_i + 1]
        t_ext, aux = newton_bracketed(
            exact, lo, hi, np.full(lo.shape, peak), lo + x * width, aux_rows=5
        )
        hit = aux[4] > 0 if peak else aux[4] <= 0
        s_i, j_i, g_i, lo, hi, t_ext = s_i[hit], j_i[hit], g_i[hit], lo[hit], hi[hit], t_ext[hit]
        w_ext, state_ext = aux[4, hit], aux[:4, hit]
        w0, w1 = w[s_i, j_i, g_i], w[s_i, j_i + 1, g_i]
        state0, state1 = det.state(s_i, j_i, g_i), det.state(s_i, j_i + 1, g_i)
        return [
            (s_i, g_i, lo, t_ext, w0, w_ext, state0, state_ext),
            (s_i, g_i, t_ext, hi, w_ext, w1, state_ext, state1),
        ]

    def _pair_up(
        self,
        sat: IntArray,
        sta: IntArray,
        t: FloatArray,
        rising: BoolArray,
        aux: FloatArray,
        open_s: IntArray,
        open_g: IntArray,
    ) -> Spans:
        """Turn crossings into spans per (spacecraft, station), then clip to the window.

        A pair above the horizon at the first detection point (before the window)
        starts with an AOS at -inf; one still above at the end gets a LOS at +inf;
        clipping then replaces them with the window edges.
        """
        n_stations = max(1, len(self.stations))
        rows = aux.shape[0]
        n_open = open_s.shape[0]
        pair = np.concatenate([sat * n_stations + sta, open_s * n_stations + open_g])
        times = np.concatenate([t, np.full(n_open, -np.inf)])
        up = np.concatenate([rising, np.ones(n_open, dtype=bool)])
        extra = np.hstack([aux, np.full((rows, n_open), np.nan)])

        def ordered(pair: IntArray, times: FloatArray, up: BoolArray) -> IntArray:
            # One int64 key: pair, then time (to 1 us, infinities at the ends), then
            # setting before rising at equal times.
            span = self.t1 - self.t0 + 2.0e6
            micro = np.round(np.clip(times - self.t0 + 1.0e6, 0.0, span) * 1e6).astype(np.int64)
            key = (pair.astype(np.int64) * (int(span * 1e6) + 1) + micro) * 2 + up
            return np.argsort(key, kind="stable")

        order = ordered(pair, times, up)
        pair, times, up, extra = pair[order], times[order], up[order], extra[:, order]
        # Numerically coincident crossings could repeat a direction: drop repeats.
        while pair.size:
            same_pair = pair[1:] == pair[:-1]
            repeat = np.concatenate([[False], same_pair & (up[1:] == up[:-1])])
            orphan_los = np.concatenate([[True], ~same_pair]) & ~up
            drop = repeat | orphan_los
            if not drop.any():
                break
            pair, times, up, extra = pair[~drop], times[~drop], up[~drop], extra[:, ~drop]
        if pair.size:
            dangling = np.concatenate([pair[1:] != pair[:-1], [True]]) & up
            n_dangling = int(dangling.sum())
            pair = np.concatenate([pair, pair[dangling]])
            times = np.concatenate([times, np.full(n_dangling, np.inf)])
            up = np.concatenate([up, np.zeros(n_dangling, dtype=bool)])
            extra = np.hstack([extra, np.full((rows, n_dangling), np.nan)])
            order = ordered(pair, times, up)
            pair, times, extra = pair[order], times[order], extra[:, order]
        aos, los, span_pair = times[0::2], times[1::2], pair[0::2]
        aos_x, los_x = extra[:, 0::2], extra[:, 1::2]
        keep = (los > self.t0) & (aos < self.t1)
        aos, los, span_pair = aos[keep], los[keep], span_pair[keep]
        aos_x, los_x = aos_x[:, keep], los_x[:, keep]
        aos_clipped, los_clipped = aos < self.t0, los > self.t1
        aos_x[:, aos_clipped] = np.nan
        los_x[:, los_clipped] = np.nan
        return Spans(
            sat=span_pair // n_stations,
            sta=span_pair % n_stations,
            aos=np.maximum(aos, self.t0),
            los=np.minimum(los, self.t1),
            aos_clipped=aos_clipped,
            los_clipped=los_clipped,
            aos_state=aos_x[:4].copy(),
            los_state=los_x[:4].copy(),
            aos_el=aos_x[4].copy(),
            aos_az=aos_x[5].copy(),
            los_el=los_x[4].copy(),
            los_az=los_x[5].copy(),
        )

    # -- 2. culminations ------------------------------------------------------------------------

    def _culminations(self, bucket: Bucket, spans: Spans, det: Detection) -> None:
        """Every interior maximum of elevation in each span, with elevation and azimuth.

        Knots are the span's ends plus the detection points inside it; each change of
        sign of d(elevation)/dt from + to - between two knots brackets one maximum.
        """
        n = len(spans)
        if n == 0:
            return
        j_lo = np.searchsorted(det.t, spans.aos, side="right")
        j_hi = np.searchsorted(det.t, spans.los, side="left") - 1
        owner, offset = segment_index(np.maximum(j_hi - j_lo + 1, 0) + 2)
        first = offset == 0
        last = np.concatenate([owner[1:] != owner[:-1], [True]])
        inner = ~first & ~last
        t = np.empty(owner.size)
        state = np.empty((4, owner.size))
        t[first], state[:, first] = spans.aos, spans.aos_state
        t[last], state[:, last] = spans.los, spans.los_state
        j_in = (j_lo[owner] + offset - 1)[inner]
        t[inner] = det.t[j_in]
        state[:, inner] = det.state(spans.sat[owner[inner]], j_in, spans.sta[owner[inner]])
        rate = state[2] * state[1] - state[0] * state[3]  # D, with the sign of d(el)/dt
        same = owner[1:] == owner[:-1]
        bracket = np.flatnonzero(same & (rate[:-1] > 0) & (rate[1:] <= 0))
        if bracket.size == 0:
            return
        lo, hi = t[bracket], t[bracket + 1]
        span = owner[bracket]
        sat, sta = spans.sat[span], spans.sta[span]
        width = hi - lo
        u_model, rho2_model = interval_models(state[:, bracket], state[:, bracket + 1], width)

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            # d(u / rho) / dx * rho^3 = u' rho^2 - u (rho^2)' / 2, and its derivative.
            u, du, ddu = u_model.at(idx, x)
            rho2, drho2, ddrho2 = rho2_model.at(idx, x)
            value = du * rho2 - 0.5 * u * drho2
            return value, ddu * rho2 + 0.5 * du * drho2 - 0.5 * u * ddrho2, u[:0]

        count = bracket.size
        x, _ = newton_bracketed(
            model,
            np.zeros(count),
            np.ones(count),
            np.ones(count, dtype=bool),
            np.full(count, 0.5),
            0,
            _GUESS_TOLERANCE,
        )
        refraction = self.refraction

        def exact(idx: IntArray, tt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            pair = bucket.state(sat[idx], sta[idx], tt, accel=True)
            el = geometry.apparent_elevation_deg(pair.elevation_deg, refraction)
            return pair.culmination(), pair.culmination_slope(), np.stack([el, pair.azimuth_deg])

        root, aux = newton_bracketed(
            exact, lo, hi, np.ones(count, dtype=bool), lo + x * width, aux_rows=2
        )
        inside = (root > spans.aos[span]) & (root < spans.los[span])
        spans.culm_span, spans.culm_t = span[inside], root[inside]
        spans.culm_el, spans.culm_az = aux[0, inside], aux[1, inside]

    # -- 3. azimuth-dependent masks -------------------------------------------------------------

    def _above_mask(
        self, bucket: Bucket, sat: IntArray, sta: IntArray, t: FloatArray
    ) -> FloatArray:
        """Elevation (apparent when refracting) minus the horizon at the current azimuth."""
        pair = bucket.state(sat, sta, t)
        el = geometry.apparent_elevation_deg(pair.elevation_deg, self.refraction)
        az = pair.azimuth_deg
        horizon = np.empty_like(el)
        for g in np.unique(sta):
            here = sta == g
            horizon[here] = self.stations[int(g)].horizon.elevation_deg(az[here])
        return np.asarray(el - horizon, dtype=np.float64)

    def _recut_masks(self, bucket: Bucket, spans: Spans) -> Spans:
        """Cut the spans of masked stations where the elevation is under the full mask.

        The mask is piecewise linear in azimuth, so the function is only piecewise
        smooth: it is sampled (0.5-10 s apart), short peaks above and dips below the
        mask between samples are found by golden-section search, and crossings are
        bisected. One span can become several passes, or none.
        """
        masked = self.masked[spans.sta]
        if not masked.any():
            return spans
        flat, work = spans.take(~masked), spans.take(masked)
        length = work.los - work.aos
        step = np.clip(length / 200.0, *MASK_SAMPLE_S)
        owner, offset = segment_index(np.maximum(np.ceil(length / step).astype(np.intp), 1) + 1)
        first = offset == 0
        last = np.concatenate([owner[1:] != owner[:-1], [True]])
        t = np.where(last, work.los[owner], work.aos[owner] + step[owner] * offset)
        sat, sta = work.sat[owner], work.sta[owner]
        f = self._above_mask(bucket, sat, sta, t)
        # A real AOS/LOS of the lowest horizon lies on or under the full mask.
        real_end = (first & ~work.aos_clipped[owner]) | (last & ~work.los_clipped[owner])
        f[real_end] = np.minimum(f[real_end], -1e-12)

        def fn(idx: IntArray, tt: FloatArray) -> FloatArray:
            return self._above_mask(bucket, sat[idx], sta[idx], tt)

        same = owner[1:] == owner[:-1]
        change = np.flatnonzero(same & ((f[:-1] > 0) != (f[1:] > 0)))
        idx, lo_t, hi_t, lo_pos = [change], [t[change]], [t[change + 1]], [f[change] > 0]
        centre = np.flatnonzero(same[:-1] & same[1:]) + 1
        fc, fl, fr = f[centre], f[centre - 1], f[centre + 1]
        margin = 2.0 * PEAK_MARGIN_DEG
        for peak in (True, False):
            if peak:
                pick = centre[(fc >= fl) & (fc > fr) & (fc <= 0) & (fc > -margin)]
            else:
                pick = centre[(fc <= fl) & (fc < fr) & (fc > 0) & (fc < margin)]
            if pick.size == 0:
                continue
            t_ext, f_ext = golden(fn, pick, t[pick - 1], t[pick + 1], maximum=peak)
            hit = f_ext > 0 if peak else f_ext <= 0
            pick, t_ext = pick[hit], t_ext[hit]
            idx += [pick, pick]
            lo_t += [t[pick - 1], t_ext]
            hi_t += [t_ext, t[pick + 1]]
            lo_pos += [np.full(pick.shape, not peak), np.full(pick.shape, peak)]
        cross = np.concatenate(idx)
        roots = bisect(
            fn, cross, np.concatenate(lo_t), np.concatenate(hi_t), np.concatenate(lo_pos)
        )
        rising = ~np.concatenate(lo_pos)
        open_start = np.flatnonzero(f[first] > 0)
        ev_span = np.concatenate([owner[cross], open_start])
        ev_t = np.concatenate([roots, work.aos[open_start]])
        ev_up = np.concatenate([rising, np.ones(open_start.shape, dtype=bool)])
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
        seg, seg_a, seg_b = ev_span[0::2], ev_t[0::2], ev_t[1::2]
        keep = seg_b > seg_a
        seg, seg_a, seg_b = seg[keep], seg_a[keep], seg_b[keep]
        recut = Spans.unknown_ends(
            work.sat[seg],
            work.sta[seg],
            seg_a,
            seg_b,
            work.aos_clipped[seg] & (seg_a <= work.aos[seg]),
            work.los_clipped[seg] & (seg_b >= work.los[seg]),
        )
        # Culminations move to the segment holding them, or vanish under the mask.
        seg_key = seg.astype(np.float64) * 1e10 + (seg_a - self.t0)
        culm_key = work.culm_span.astype(np.float64) * 1e10 + (work.culm_t - self.t0)
        seg_of = np.searchsorted(seg_key, culm_key, side="right") - 1
        valid = seg_of >= 0
        valid[valid] &= (seg[seg_of[valid]] == work.culm_span[valid]) & (
            work.culm_t[valid] < seg_b[seg_of[valid]]
        )
        recut.culm_span, recut.culm_t = seg_of[valid], work.culm_t[valid]
        recut.culm_el, recut.culm_az = work.culm_el[valid], work.culm_az[valid]
        recut.fill_ends(bucket, self.refraction)
        return concat_spans([flat, recut])
