"""Refinement of the sweep's spans: culminations (maxima of elevation, found on the
quintic models and evaluated exactly) and the recut of spans over azimuth-dependent
masks (sampled, golden-section search of peaks and dips, bisection of crossings)."""

from __future__ import annotations

import numpy as np

from orbital import geometry
from orbital.geometry import Station
from orbital.passes.brackets import GUESS_TOLERANCE, Detection
from orbital.passes.numeric import (
    BoolArray,
    IntArray,
    bisect,
    golden,
    newton_bracketed,
    segment_index,
)
from orbital.passes.pairs import Bucket, interval_models
from orbital.passes.spans import STATE_ROWS, Spans, concat_spans
from orbital.timescales import FloatArray

# Sampled passes over masked stations: peaks and dips this close to the mask are searched.
MASK_MARGIN_DEG = 2.0
# Sampling of passes over stations with azimuth-dependent masks (seconds, min-max).
MASK_SAMPLE_S = (0.5, 10.0)


class Refine:
    """The culmination and mask steps of :class:`~orbital.passes.sweep.Search`."""

    stations: tuple[Station, ...]
    t0: float
    refraction: bool
    masked: BoolArray

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
            GUESS_TOLERANCE,
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
