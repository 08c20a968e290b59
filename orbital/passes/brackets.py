"""Detection and crossings for the sweep: sign changes of ``f = u - s rho`` between
detection points, turns (peaks and dips) that may hide a short pass, their refinement to
exact AOS/LOS times, and the pairing of crossings into spans."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbital import geometry
from orbital.geometry import Station
from orbital.passes.numeric import (
    NODE_OFFSETS,
    BoolArray,
    Extras,
    IntArray,
    lagrange_weights,
    newton_bracketed,
)
from orbital.passes.pairs import Bucket, interval_models
from orbital.passes.spans import Grid, Spans
from orbital.timescales import FloatArray

# An interval whose modelled peak of f = u - s rho (km) comes within this of zero is
# refined exactly. Measured error of the quintic models over 240 s of LEO: 1 m (36 m
# over 480 s; cubic ones without accelerations: 1 km and 15 km). The margin is in
# kilometres, not degrees, because near zenith 1 km of f is degrees of elevation.
PEAK_MARGIN_KM = 20.0
# Model-space (x in [0, 1]) tolerance of first guesses: ~1e-4 s over an interval.
GUESS_TOLERANCE = 1e-7


# The interpolant's slope and curvature weights at a node itself (tau = 0).
_, _NODE_SLOPE_2D, _NODE_CURVE_2D = lagrange_weights(np.zeros(1), 2)
_NODE_SLOPE, _NODE_CURVE = _NODE_SLOPE_2D[0], _NODE_CURVE_2D[0]


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


class Brackets:
    """The detection and crossing steps of :class:`~orbital.passes.sweep.Search`."""

    stations: tuple[Station, ...]
    t0: float
    t1: float
    refraction: bool
    site_pos: FloatArray
    site_up: FloatArray
    sine: FloatArray

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
        x, _ = newton_bracketed(model, zeros, ones, lo_above, secant, 0, GUESS_TOLERANCE)
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
            GUESS_TOLERANCE,
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
