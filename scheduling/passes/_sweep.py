"""The sweep over all spacecraft x stations: detection, crossings, culminations, masks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from scheduling import geometry, orbits, timescale
from scheduling.geometry import Station
from scheduling.passes._geometry import Bucket, interval_models
from scheduling.passes._numeric import (
    NODE_OFFSETS,
    BoolArray,
    Extras,
    IntArray,
    bisect,
    golden,
    lagrange_weights,
    newton_bracketed,
    segment_index,
)
from scheduling.timescale import FloatArray

# An interval whose modelled peak of f = u - s rho (km) comes within this of zero is
# refined exactly. Measured error of the quintic models over 240 s of LEO: 1 m (36 m
# over 480 s; cubic ones without accelerations: 1 km and 15 km). The margin is in
# kilometres, not degrees, because near zenith 1 km of f is degrees of elevation.
PEAK_MARGIN_KM = 20.0
# Detection points every DETECTION_STEP_S, and at least every DETECTION_STRIDE grid steps.
DETECTION_STEP_S = 240.0
DETECTION_STRIDE = 4
# Sampled passes over masked stations: peaks and dips this close to the mask are searched.
MASK_MARGIN_DEG = 2.0
# Pair arrays per chunk (spacecraft x detection points x stations): bounds memory.
CHUNK_ELEMENTS = 750_000
# Sampling of passes over stations with azimuth-dependent masks (seconds, min-max).
MASK_SAMPLE_S = (0.5, 10.0)
# Rows of a stored pair state: u, rho2, du, dv, ddu, ddv (``PairState.stack``).
STATE_ROWS = 6
# Model-space (x in [0, 1]) tolerance of first guesses: ~1e-4 s over an interval.
_GUESS_TOLERANCE = 1e-7


# The interpolant's slope and curvature weights at a node itself (tau = 0).
_, _NODE_SLOPE_2D, _NODE_CURVE_2D = lagrange_weights(np.zeros(1), 2)
_NODE_SLOPE, _NODE_CURVE = _NODE_SLOPE_2D[0], _NODE_CURVE_2D[0]


def _empty() -> FloatArray:
    return np.zeros(0)


def _empty_index() -> IntArray:
    return np.zeros(0, dtype=np.intp)


@dataclass
class Spans:
    """Intervals above the horizon for one chunk, with what is known at their ends.

    ``*_state`` rows are u, rho2, du, dv, ddu, ddv (see ``PairState``); elevation and azimuth
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
            sat,
            sta,
            aos,
            los,
            aos_clipped,
            los_clipped,
            np.full((STATE_ROWS, n), np.nan),
            np.full((STATE_ROWS, n), np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
        )

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
            pair = bucket.state(self.sat[missing], self.sta[missing], times[missing], accel=True)
            state[:, missing] = pair.stack()
            el[missing] = geometry.apparent_elevation_deg(pair.elevation_deg, refraction)
            az[missing] = pair.azimuth_deg


def concat_spans(parts: Sequence[Spans]) -> Spans:
    offsets = np.cumsum([0] + [len(p) for p in parts])

    def cat(name: str) -> Any:
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
    """One chunk at its detection points (times ``t``, shape J): Earth-fixed states of
    every spacecraft (S, J, 3) and the pair arrays for every station (S, J, G).

    Velocity and acceleration come from the interpolant's derivatives at the grid
    nodes, consistent with every other state the search uses.
    """

    t: FloatArray
    r: FloatArray
    v: FloatArray
    a: FloatArray
    site_pos: FloatArray
    site_up: FloatArray
    u: FloatArray
    rho2: FloatArray
    du: FloatArray
    dv: FloatArray

    def state(self, s: IntArray, j: IntArray, g: IntArray) -> FloatArray:
        """Model rows (u, rho2, du, dv, ddu, ddv) at (spacecraft, point, station) triples."""
        flat = s * self.r.shape[1] + j
        d = np.take(self.r.reshape(-1, 3), flat, axis=0) - np.take(self.site_pos, g, axis=0)
        v = np.take(self.v.reshape(-1, 3), flat, axis=0)
        a = np.take(self.a.reshape(-1, 3), flat, axis=0)
        up = np.take(self.site_up, g, axis=0)
        return np.stack(
            [
                np.einsum("qc,qc->q", d, up),
                np.einsum("qc,qc->q", d, d),
                np.einsum("qc,qc->q", v, up),
                np.einsum("qc,qc->q", d, v),
                np.einsum("qc,qc->q", a, up),
                np.einsum("qc,qc->q", v, v) + np.einsum("qc,qc->q", d, a),
            ]
        )


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
        self.sine = np.sin(np.radians(threshold))
        self.masked = np.array([not s.horizon.is_flat for s in stations], dtype=bool)

    def grid(self, step: float) -> Grid:
        """The propagation and detection grids for one grid step.

        Detection points run from the window's start to its end or just past it; the
        propagation grid has four more steps before the first and five after the last,
        so every interpolation has its eight nodes.
        """
        stride = max(1, min(DETECTION_STRIDE, round(DETECTION_STEP_S / step)))
        points = math.ceil((self.t1 - self.t0) / (step * stride)) + 1
        det = 4 + stride * np.arange(points)
        times = self.t0 + step * (np.arange(int(det[-1]) + 6, dtype=np.float64) - 4.0)
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
        r, _ = orbits.teme_to_ecef(states.r_km[ok], states.v_km_s[ok], states.theta)
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
        detection = self._detect(r, grid)
        spans = self._spans(bucket, detection)
        spans.fill_ends(bucket, self.refraction)
        self._culminations(bucket, spans, detection)
        if self.masked.any():
            spans = self._recut_masks(bucket, spans)
        return group[ok], spans, errors

    # -- 1. detection and crossings -----------------------------------------------------------

    def _detect(self, r_grid: FloatArray, grid: Grid) -> Detection:
        """States at the detection points and the pair arrays for every station.

        Velocity and acceleration are the interpolant's derivatives at the nodes (fixed
        8-tap filters over the grid). The pair arrays come from matrix products over
        all pairs at once: O(S * J * G), done once per chunk.
        """
        r = r_grid[:, grid.det]
        v = np.zeros_like(r)
        a = np.zeros_like(r)
        for offset, w1, w2 in zip(NODE_OFFSETS, _NODE_SLOPE, _NODE_CURVE, strict=True):
            neighbour = r_grid[:, grid.det + offset]
            v += w1 * neighbour
            a += w2 * neighbour
        v /= grid.step
        a /= grid.step**2
        pos, up = self.site_pos, self.site_up
        return Detection(
            t=grid.times[grid.det],
            r=r,
            v=v,
            a=a,
            site_pos=pos,
            site_up=up,
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

        ``f = u - s rho`` (km) is positive exactly above the horizon of sine ``s``: a
        sign change of ``f`` between detection points brackets one crossing, and an
        interval where ``f`` turns (peaks or dips) without changing sign is checked
        with quintic models of ``u`` and ``rho^2`` and, if the turn comes near zero,
        refined exactly. That finds passes shorter than a detection interval.
        """
        rho = np.sqrt(det.rho2)
        f = det.u - self.sine * rho
        above = f > 0
        rising = det.du * rho > self.sine * det.dv  # f' > 0 (times rho > 0)
        a0, a1, r0, r1 = above[:, :-1], above[:, 1:], rising[:, :-1], rising[:, 1:]
        # |f'| <= (1 + |s|) |v|, so between two points f cannot climb above
        # (f0 + f1 + (1 + |s|) |v|max width) / 2: turns far from the horizon are skipped
        # without modelling them (most are the far side of the Earth). The fastest
        # sampled speed gets 50% headroom for a perigee passed between points.
        speed = 1.5 * float(np.sqrt(np.einsum("sjc,sjc->sj", det.v, det.v)).max(initial=0.0))
        reach = (1.0 + np.abs(self.sine)) * speed * float(det.t[1] - det.t[0]) + 2 * PEAK_MARGIN_KM
        f_sum = f[:, :-1] + f[:, 1:]
        # One pass over the pair arrays: 1 = sign change (a crossing), 2 = f peaks between
        # two points below the horizon, 3 = f dips between two points above it.
        code = (a0 != a1).view(np.int8).copy()
        code[r0 & ~r1 & ~(a0 | a1) & (f_sum > -reach)] = 2
        code[~r0 & r1 & a0 & a1 & (f_sum < reach)] = 3
        s_a, j_a, g_a = np.nonzero(code)
        kind = code[s_a, j_a, g_a]
        # Brackets: spacecraft, station, [lo, hi], whether above at lo, states at both ends.
        parts: list[tuple[npt.NDArray[np.generic], ...]] = []
        cross = kind == 1
        s_i, j_i, g_i = s_a[cross], j_a[cross], g_a[cross]
        parts.append(
            (
                s_i,
                g_i,
                det.t[j_i],
                det.t[j_i + 1],
                above[s_i, j_i, g_i],
                det.state(s_i, j_i, g_i),
                det.state(s_i, j_i + 1, g_i),
            )
        )
        for peak, value in ((True, 2), (False, 3)):
            pick = kind == value
            if pick.any():
                parts.extend(self._extremes(bucket, det, s_a[pick], j_a[pick], g_a[pick], peak))
        sat, sta, lo, hi, lo_above = (np.concatenate([p[k] for p in parts]) for k in range(5))
        lo_state = np.concatenate([p[5] for p in parts], axis=1)
        hi_state = np.concatenate([p[6] for p in parts], axis=1)
        sine = self.sine[sta]
        width = hi - lo
        u_model, rho2_model = interval_models(lo_state, hi_state, width)

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, None]:
            u, du, _ = u_model.at(idx, x)
            rho2, drho2, _ = rho2_model.at(idx, x)
            rho = np.sqrt(rho2)
            return u - sine[idx] * rho, du - sine[idx] * drho2 / (2.0 * rho), None

        f_lo = lo_state[0] - sine * np.sqrt(lo_state[1])
        f_hi = hi_state[0] - sine * np.sqrt(hi_state[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = np.clip(f_lo / (f_lo - f_hi), 0.0, 1.0)
        zeros, ones = np.zeros_like(lo), np.ones_like(lo)
        x, _ = newton_bracketed(model, zeros, ones, lo_above, secant, 0, _GUESS_TOLERANCE)
        refraction = self.refraction

        def exact(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray, Extras]:
            state = bucket.state(sat[idx], sta[idx], t, accel=True)
            f_val, df_val = state.above(sine[idx])

            def extras(done: BoolArray) -> FloatArray:
                end = state.take(done)
                el = geometry.apparent_elevation_deg(end.elevation_deg, refraction)
                return np.vstack([end.stack(), el, end.azimuth_deg])

            return f_val, df_val, extras

        cross_t, aux = newton_bracketed(exact, lo, hi, lo_above, lo + x * width, aux_rows=8)
        open_s, open_g = np.nonzero(above[:, 0, :])
        return self._pair_up(sat, sta, cross_t, ~lo_above, aux, open_s, open_g)

    def _extremes(
        self,
        bucket: Bucket,
        det: Detection,
        s_i: IntArray,
        j_i: IntArray,
        g_i: IntArray,
        peak: bool,
    ) -> list[tuple[npt.NDArray[np.generic], ...]]:
        """Crossing brackets around peaks that clear the horizon (or dips under it).

        The extreme of ``f = u - s rho`` is located on the quintic models; only if the
        modelled ``f`` there comes within ``PEAK_MARGIN_KM`` of zero is it refined
        exactly (Newton on ``f'``, bracketed by the interval's ends, where ``f'``
        changes sign).
        """
        lo_state = det.state(s_i, j_i, g_i)
        hi_state = det.state(s_i, j_i + 1, g_i)
        sine = self.sine[g_i]
        lo, hi = det.t[j_i], det.t[j_i + 1]
        width = hi - lo
        u_model, rho2_model = interval_models(lo_state, hi_state, width)

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, None]:
            _, du, ddu = u_model.at(idx, x)
            rho2, drho2, ddrho2 = rho2_model.at(idx, x)
            rho = np.sqrt(rho2)
            drho = drho2 / (2.0 * rho)
            ddrho = ddrho2 / (2.0 * rho) - drho * drho / rho
            return du - sine[idx] * drho, ddu - sine[idx] * ddrho, None

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
        u_x, _, _ = u_model.at(np.arange(count), x)
        rho2_x, _, _ = rho2_model.at(np.arange(count), x)
        f_x = u_x - sine * np.sqrt(np.maximum(rho2_x, 0.0))
        near = f_x > -PEAK_MARGIN_KM if peak else f_x < PEAK_MARGIN_KM
        if not near.any():
            return []
        s_i, j_i, g_i, sine, x = s_i[near], j_i[near], g_i[near], sine[near], x[near]
        lo, hi, width = lo[near], hi[near], width[near]

        def exact(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray, Extras]:
            state = bucket.state(s_i[idx], g_i[idx], t, accel=True, angles=False)
            f_val, df_val = state.above(sine[idx])

            def extras(done: BoolArray) -> FloatArray:
                return np.vstack([state.stack()[:, done], f_val[done]])

            return df_val, state.above_curvature(sine[idx]), extras

        t_ext, aux = newton_bracketed(
            exact, lo, hi, np.full(lo.shape, peak), lo + x * width, aux_rows=7
        )
        hit = aux[6] > 0 if peak else aux[6] <= 0
        s_i, j_i, g_i, lo, hi, t_ext = s_i[hit], j_i[hit], g_i[hit], lo[hit], hi[hit], t_ext[hit]
        state_ext = aux[:6, hit]
        state0 = det.state(s_i, j_i, g_i)
        state1 = det.state(s_i, j_i + 1, g_i)
        outside = np.full(s_i.shape, not peak)  # whether above the horizon at lo
        return [
            (s_i, g_i, lo, t_ext, outside, state0, state_ext),
            (s_i, g_i, t_ext, hi, ~outside, state_ext, state1),
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
            aos_state=aos_x[:6].copy(),
            los_state=los_x[:6].copy(),
            aos_el=aos_x[6].copy(),
            aos_az=aos_x[7].copy(),
            los_el=los_x[6].copy(),
            los_az=los_x[7].copy(),
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
        state = np.empty((STATE_ROWS, owner.size))
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

        def model(idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, None]:
            # d(u / rho) / dx * rho^3 = u' rho^2 - u (rho^2)' / 2, and its derivative.
            u, du, ddu = u_model.at(idx, x)
            rho2, drho2, ddrho2 = rho2_model.at(idx, x)
            value = du * rho2 - 0.5 * u * drho2
            return value, ddu * rho2 + 0.5 * du * drho2 - 0.5 * u * ddrho2, None

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
        # The quintic models are good to a metre here, so their maximum is within a
        # fraction of a millisecond of the true one; at a maximum the elevation is flat,
        # so one exact evaluation there gives the peak elevation to ~1e-9 deg.
        root = lo + x * width
        inside = (root > spans.aos[span]) & (root < spans.los[span])
        top = bucket.state(sat[inside], sta[inside], root[inside])
        spans.culm_span, spans.culm_t = span[inside], root[inside]
        spans.culm_el = geometry.apparent_elevation_deg(top.elevation_deg, self.refraction)
        spans.culm_az = top.azimuth_deg

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
        margin = MASK_MARGIN_DEG
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
