"""Spacecraft-station geometry at arbitrary instants, from interpolated Earth-fixed states."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbital.passes.numeric import (
    NODE_OFFSETS,
    IntArray,
    Quintic,
    lagrange_weights,
)
from orbital.timescales import FloatArray


@dataclass
class PairState:
    """What the search needs about (spacecraft, station, instant) triples.

    ``u`` is the height of the spacecraft above the station's horizontal plane (km),
    ``rho2`` the range squared, ``du`` and ``dv = d . v`` their rates (``dv`` is half
    the rate of ``rho2``); ``ddu``, ``ddv`` (``|v|^2 + d . a``) only when asked for.
    """

    u: FloatArray
    rho2: FloatArray
    du: FloatArray
    dv: FloatArray
    east: FloatArray | None = None
    north: FloatArray | None = None
    ddu: FloatArray | None = None
    ddv: FloatArray | None = None

    def take(self, mask: npt.NDArray[np.bool_]) -> PairState:
        """The same quantities for a subset of the triples."""

        def pick(values: FloatArray | None) -> FloatArray | None:
            return None if values is None else values[mask]

        return PairState(
            self.u[mask],
            self.rho2[mask],
            self.du[mask],
            self.dv[mask],
            pick(self.east),
            pick(self.north),
            pick(self.ddu),
            pick(self.ddv),
        )

    def stack(self) -> FloatArray:
        """Rows u, rho2, du, dv, ddu, ddv: what the quintic models of an interval need."""
        assert self.ddu is not None and self.ddv is not None
        return np.stack([self.u, self.rho2, self.du, self.dv, self.ddu, self.ddv])

    @property
    def elevation_deg(self) -> FloatArray:
        sin_el = np.clip(self.u / np.sqrt(self.rho2), -1.0, 1.0)
        return np.asarray(np.degrees(np.arcsin(sin_el)), dtype=np.float64)

    @property
    def azimuth_deg(self) -> FloatArray:
        assert self.east is not None and self.north is not None
        return np.asarray(np.mod(np.degrees(np.arctan2(self.east, self.north)), 360.0))

    def above(self, sine: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``f = u - sine * rho``, positive above the horizon of that sine, and its rate."""
        rho = np.sqrt(self.rho2)
        return self.u - sine * rho, self.du - sine * self.dv / rho

    def above_curvature(self, sine: FloatArray) -> FloatArray:
        assert self.ddu is not None and self.ddv is not None
        rho = np.sqrt(self.rho2)
        return self.ddu - sine * (self.ddv / rho - self.dv**2 / rho**3)

    def culmination(self) -> FloatArray:
        """``D = rho^3 d(sin el)/dt``: positive while rising, zero at each maximum."""
        return self.du * self.rho2 - self.u * self.dv

    def culmination_slope(self) -> FloatArray:
        assert self.ddu is not None and self.ddv is not None
        return self.ddu * self.rho2 + self.du * self.dv - self.u * self.ddv


def interval_models(lo: FloatArray, hi: FloatArray, width: FloatArray) -> tuple[Quintic, Quintic]:
    """Quintic models of ``u`` and ``rho^2`` across intervals, from states at both ends.

    Both are smooth on the orbital timescale (``u`` is linear in the position), so
    through values, rates and curvatures they are good to about 10 m over four
    minutes of LEO; unlike the elevation they do not swing near zenith, and unlike
    ``u|u|`` they have no kink where the spacecraft crosses the horizontal plane.
    They only give first guesses and decide which intervals deserve exact work.
    """
    w2 = width * width
    u = Quintic.through(lo[0], hi[0], lo[2] * width, hi[2] * width, lo[4] * w2, hi[4] * w2)
    rho2 = Quintic.through(
        lo[1], hi[1], 2.0 * lo[3] * width, 2.0 * hi[3] * width, 2.0 * lo[5] * w2, 2.0 * hi[5] * w2
    )
    return u, rho2


@dataclass
class Bucket:
    """Earth-fixed positions of spacecraft on one uniform grid, and the stations' axes.

    Earth-fixed positions are interpolated directly (rather than inertial ones, then
    rotated), so Earth-fixed velocity and acceleration are plain derivatives; the
    Earth's rotation adds under a factor two to the interpolation error.
    """

    grid_start_s: float
    step_s: float
    nodes: int
    r_flat: FloatArray  # (S * nodes, 3)
    site_pos: FloatArray  # (G, 3)
    site_east: FloatArray
    site_north: FloatArray
    site_up: FloatArray

    def state(
        self,
        sat: IntArray,
        sta: IntArray,
        t: FloatArray,
        *,
        accel: bool = False,
        angles: bool = True,
    ) -> PairState:
        """Degree-7 Lagrange interpolation through the 8 surrounding grid positions.

        Positions only: SGP4's velocities are not the exact derivative of its
        positions (off by cm/s in LEO, m/s in deep space), so velocity and
        acceleration come from the interpolant to stay consistent with the position.
        """
        position = (t - self.grid_start_s) / self.step_s
        k = np.clip(np.floor(position).astype(np.intp), 3, self.nodes - 5)
        weights = lagrange_weights(position - k, 2 if accel else 1)
        index = (sat * self.nodes + k)[:, None] + NODE_OFFSETS[None, :]
        nodes = np.take(self.r_flat, index, axis=0)  # (Q, 8, 3)
        d = np.einsum("qn,qnc->qc", weights[0], nodes) - np.take(self.site_pos, sta, axis=0)
        vel = np.einsum("qn,qnc->qc", weights[1], nodes) / self.step_s
        up = np.take(self.site_up, sta, axis=0)
        state = PairState(
            u=np.einsum("qc,qc->q", d, up),
            rho2=np.einsum("qc,qc->q", d, d),
            du=np.einsum("qc,qc->q", vel, up),
            dv=np.einsum("qc,qc->q", d, vel),
        )
        if angles:
            state.east = np.einsum("qc,qc->q", d, np.take(self.site_east, sta, axis=0))
            state.north = np.einsum("qc,qc->q", d, np.take(self.site_north, sta, axis=0))
        if accel:
            acc = np.einsum("qn,qnc->qc", weights[2], nodes) / self.step_s**2
            state.ddu = np.einsum("qc,qc->q", acc, up)
            state.ddv = np.einsum("qc,qc->q", vel, vel) + np.einsum("qc,qc->q", d, acc)
        return state
