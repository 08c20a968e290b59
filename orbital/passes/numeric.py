"""Vectorised numerics for the pass search: interpolation, quintic models, root finding."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbital.timescales import FloatArray

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

# Newton stops once its next step is under this, and takes it: quadratic convergence
# then leaves well under a microsecond (about this much at a double root, a pass that
# only grazes the horizon). Bisection (masks) runs to the same width.
ROOT_TOLERANCE_S = 1e-4

NODES = np.arange(-3.0, 5.0)  # Lagrange nodes, in grid steps around the query
NODE_OFFSETS = np.arange(-3, 5)
_INV_DENOM = 1.0 / np.array(
    [np.prod([NODES[j] - NODES[m] for m in range(8) if m != j]) for j in range(8)]
)


def lagrange_weights(tau: FloatArray, derivatives: int) -> list[FloatArray]:
    """Weights (Q, 8) of the 8 nodes for the value and up to two derivatives at ``tau``.

    Product form ``w_j = prod_{m != j} (tau - x_m) / prod_{m != j} (x_j - x_m)`` from
    prefix and suffix products (no division by ``tau - x_j``, so exact at the nodes),
    derivatives by the product rule on the same recurrences. Element-wise numpy: for
    eight nodes it is several times faster than a (Q, 8) @ (8, 8) BLAS product.
    Derivatives are per unit of ``tau``.
    """
    q = tau.shape[0]
    diff = [tau - x for x in NODES]
    one, zero = np.ones(q), np.zeros(q)
    pre: list[list[FloatArray]] = [[one], [zero], [zero]]  # prefix products, derivatives
    suf: list[list[FloatArray]] = [[one], [zero], [zero]]
    for j in range(1, 8):
        d_pre, d_suf = diff[j - 1], diff[8 - j]
        for order in range(derivatives, -1, -1):
            p_new, s_new = pre[order][-1] * d_pre, suf[order][-1] * d_suf
            if order >= 1:
                p_new = p_new + order * pre[order - 1][-1]
                s_new = s_new + order * suf[order - 1][-1]
            pre[order].append(p_new)
            suf[order].append(s_new)
    for order in range(derivatives + 1):
        suf[order].reverse()
    out = []
    for order in range(derivatives + 1):
        weights = np.empty((q, 8))
        for j in range(8):
            if order == 0:
                value = pre[0][j] * suf[0][j]
            elif order == 1:
                value = pre[1][j] * suf[0][j] + pre[0][j] * suf[1][j]
            else:
                value = pre[2][j] * suf[0][j] + 2.0 * pre[1][j] * suf[1][j] + pre[0][j] * suf[2][j]
            weights[:, j] = value * _INV_DENOM[j]
        out.append(weights)
    return out


@dataclass(frozen=True, slots=True)
class Quintic:
    """Hermite quintics on x in [0, 1] through values, slopes and curvatures at both ends."""

    coefficients: FloatArray  # (6, n), lowest power first

    @classmethod
    def through(
        cls,
        y0: FloatArray,
        y1: FloatArray,
        d0: FloatArray,
        d1: FloatArray,
        c0: FloatArray,
        c1: FloatArray,
    ) -> Quintic:
        """Derivatives per unit x (scale time derivatives by the interval's width)."""
        dy = y1 - y0
        return cls(
            np.stack(
                [
                    y0,
                    d0,
                    0.5 * c0,
                    10.0 * dy - 6.0 * d0 - 4.0 * d1 - 1.5 * c0 + 0.5 * c1,
                    -15.0 * dy + 8.0 * d0 + 7.0 * d1 + 1.5 * c0 - c1,
                    6.0 * dy - 3.0 * (d0 + d1) - 0.5 * (c0 - c1),
                ]
            )
        )

    def at(self, idx: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Value, slope and curvature of polynomials ``idx`` at ``x`` (Horner).

        ``idx`` are distinct indices; when there are as many as polynomials they are
        all of them, in order (how ``newton_bracketed`` starts), and no copy is made.
        """
        full = idx.shape[0] == self.coefficients.shape[1]
        a = self.coefficients if full else self.coefficients[:, idx]
        value = a[5] * x + a[4]
        slope = 5.0 * a[5] * x + 4.0 * a[4]
        curve = 20.0 * a[5] * x + 12.0 * a[4]
        for power in (3, 2, 1):
            if power >= 2:
                curve = curve * x + power * (power - 1) * a[power]
            slope = slope * x + power * a[power]
            value = value * x + a[power]
        return value * x + a[0], slope, curve


Extras = Callable[[BoolArray], FloatArray]
RootFunction = Callable[[IntArray, FloatArray], tuple[FloatArray, FloatArray, Extras | None]]


def newton_bracketed(
    fun: RootFunction,
    lo: FloatArray,
    hi: FloatArray,
    lo_positive: BoolArray,
    guess: FloatArray,
    aux_rows: int,
    tolerance: float = ROOT_TOLERANCE_S,
    max_iterations: int = 64,
) -> tuple[FloatArray, FloatArray]:
    """Roots of ``fun`` in brackets ``[lo, hi]`` across which it changes sign, all at once.

    Newton steps, with a bisection whenever a step would leave the bracket, so it
    always converges. ``fun(idx, t)`` returns the value and derivative for brackets
    ``idx`` and a function giving ``aux_rows`` rows of extra values for a subset of
    them: it is only called for the brackets that converge at that evaluation, so
    costly extras (angles) are computed once per root, within ``tolerance`` of it.
    """
    lo, hi = lo.copy(), hi.copy()
    t = np.clip(np.where(np.isfinite(guess), guess, 0.5 * (lo + hi)), lo, hi)
    aux = np.full((aux_rows, t.shape[0]), np.nan)
    active = np.arange(t.shape[0])
    for iteration in range(max_iterations):
        if active.size == 0:
            break
        tt = t[active]
        value, slope, extras = fun(active, tt)
        same_as_lo = (value > 0) == lo_positive[active]
        a = np.where(same_as_lo, tt, lo[active])
        b = np.where(same_as_lo, hi[active], tt)
        lo[active], hi[active] = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            step = value / slope
        # Converged once the Newton step is tiny, whatever its direction: at the root
        # the sign of the value is at the mercy of millimetre-level noise.
        done = (np.abs(step) < tolerance) | (value == 0) | (b - a < tolerance)
        if iteration == max_iterations - 1:
            done[:] = True
        new = tt - step
        outside = ~np.isfinite(new) | (new <= a) | (new >= b)
        new = np.where(outside & ~done, 0.5 * (a + b), new)
        new = np.where(done, np.clip(np.where(np.isfinite(new), new, tt), a, b), new)
        t[active] = np.where(value == 0, tt, new)
        if aux_rows and extras is not None and done.any():
            aux[:, active[done]] = extras(done)
        active = active[~done]
    return t, aux


ScalarFunction = Callable[[IntArray, FloatArray], FloatArray]


def golden(
    fn: ScalarFunction, idx: IntArray, lo: FloatArray, hi: FloatArray, *, maximum: bool
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


def bisect(
    fn: ScalarFunction, idx: IntArray, lo: FloatArray, hi: FloatArray, lo_positive: BoolArray
) -> FloatArray:
    """Crossings of ``fn`` (which may have kinks) by bisection to ``ROOT_TOLERANCE_S``."""
    a, b = lo.copy(), hi.copy()
    while np.max(b - a, initial=0.0) > ROOT_TOLERANCE_S:
        mid = 0.5 * (a + b)
        same = (fn(idx, mid) > 0) == lo_positive
        a = np.where(same, mid, a)
        b = np.where(same, b, mid)
    return 0.5 * (a + b)


def segment_index(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For ragged segments of ``counts`` items: each item's segment and offset in it."""
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, offset
