"""Eclipse intervals (umbra, penumbra) per spacecraft over a window. Pure: no Django.

Model and accuracy:

* Sun: the Astronomical Almanac's low-precision formula (section C, "Sun: low
  precision"): mean longitude and anomaly linear in time, two-term equation of
  centre, mean obliquity. Direction good to 0.01 deg between 1950 and 2050, distance
  to ~1e-4 AU, in the mean equator and equinox of date, which is the TEME frame of
  the spacecraft states to within nutation (< 20 arcsec, below that accuracy).
* Shadow: conical, a spherical Earth of equatorial radius 6378.137 km and a Sun of
  radius 696,000 km. Seen from the spacecraft, the Sun is in *umbra* when the
  Earth's disc covers it entirely and in *penumbra* when it covers part of it.
* So for LEO: a shadow boundary is good to ~0.2 s from the Sun's direction; ignoring
  the Earth's flattening (21 km at the poles) and its atmosphere moves boundaries
  by up to a few seconds on high-inclination orbits. Penumbra lasts ~10 s per
  transition in LEO and minutes at GEO.

``eclipse_intervals`` returns, per orbit, the umbra intervals and the penumbra
intervals (partial shadow only: a typical LEO eclipse is penumbra, umbra, penumbra).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from orbital import propagation, timescales
from orbital.constants import AU_KM, EARTH_RADIUS_KM, J2000_UNIX_S, SECONDS_PER_DAY, SUN_RADIUS_KM
from orbital.timescales import FloatArray

UMBRA = "umbra"
PENUMBRA = "penumbra"


def sun_position_km(unix_s: npt.ArrayLike) -> FloatArray:
    """Geocentric Sun (km), mean equator and equinox of date; shape (..., 3).

    UTC is used for TT: the 69 s between them move the Sun by 0.0008 deg.
    """
    n = (np.asarray(unix_s, dtype=np.float64) - J2000_UNIX_S) / SECONDS_PER_DAY
    mean_longitude = np.radians(280.460 + 0.9856474 * n)
    anomaly = np.radians(357.528 + 0.9856003 * n)
    longitude = mean_longitude + np.radians(1.915 * np.sin(anomaly) + 0.020 * np.sin(2 * anomaly))
    obliquity = np.radians(23.439 - 4.0e-7 * n)
    distance = (1.00014 - 0.01671 * np.cos(anomaly) - 0.00014 * np.cos(2 * anomaly)) * AU_KM
    return np.stack(
        [
            distance * np.cos(longitude),
            distance * np.cos(obliquity) * np.sin(longitude),
            distance * np.sin(obliquity) * np.sin(longitude),
        ],
        axis=-1,
    )


def shadow_margins(r_km: FloatArray, sun_km: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two functions of position that change sign at the shadow boundaries (radians).

    ``sep - (earth - sun)`` is negative in umbra; ``sep - (earth + sun)`` negative in
    shadow of any kind, where ``sep`` is the angle between the Sun and the Earth's
    centre seen from the spacecraft and ``earth``, ``sun`` are their angular radii.
    """
    to_sun = sun_km - r_km
    sun_dist = np.linalg.norm(to_sun, axis=-1)
    r = np.linalg.norm(r_km, axis=-1)
    earth_radius = np.arcsin(np.clip(EARTH_RADIUS_KM / r, -1.0, 1.0))
    sun_radius = np.arcsin(SUN_RADIUS_KM / sun_dist)
    cos_sep = -np.einsum("...c,...c->...", to_sun, r_km) / (sun_dist * r)
    separation = np.arccos(np.clip(cos_sep, -1.0, 1.0))
    return separation - (earth_radius - sun_radius), separation - (earth_radius + sun_radius)


@dataclass(frozen=True, slots=True)
class EclipseInterval:
    kind: str  # "umbra" or "penumbra"
    start: datetime
    end: datetime
    start_clipped: bool  # already in this shadow at the window start
    end_clipped: bool  # still in it at the window end

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def _margins_at(
    orbit: propagation.Orbit, unix_s: FloatArray, eop: timescales.EarthOrientation
) -> tuple[FloatArray, FloatArray]:
    states = propagation.propagate([orbit], unix_s, eop=eop)
    if states.errors[0] is not None:
        raise ValueError(states.errors[0])
    return shadow_margins(states.r_km[0], sun_position_km(unix_s))


def _intervals_of(
    values: FloatArray,
    times: FloatArray,
    refine: propagation.Orbit,
    which: int,
    eop: timescales.EarthOrientation,
) -> list[tuple[float, float, bool, bool]]:
    """Where ``values`` (sampled at ``times``) is negative, with refined boundaries.

    Sign changes are bisected on the exact function (propagating again); a local
    minimum between samples that only just stays positive is searched too, so a
    grazing eclipse shorter than the sampling step is not missed.
    """
    inside = values < 0
    change = np.flatnonzero(inside[1:] != inside[:-1])
    lo, hi = times[change], times[change + 1]
    lo_inside = inside[change]
    # Grazing shadows between samples: positive local minima close to zero.
    centre = np.flatnonzero((values[1:-1] <= values[:-2]) & (values[1:-1] < values[2:])) + 1
    slope = np.abs(np.diff(values)).max(initial=0.0)
    centre = centre[(values[centre] > 0) & (values[centre] < 2.0 * slope)]
    extra_lo, extra_hi, extra_in = [], [], []
    for k in centre:
        a, b = float(times[k - 1]), float(times[k + 1])
        ratio = (math.sqrt(5.0) - 1.0) / 2.0
        for _ in range(40):
            x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
            f1, f2 = _margins_at(refine, np.array([x1, x2]), eop)[which]
            if f1 < f2:
                b = x2
            else:
                a = x1
        t_min = 0.5 * (a + b)
        if _margins_at(refine, np.array([t_min]), eop)[which][0] < 0:
            extra_lo += [times[k - 1], t_min]
            extra_hi += [t_min, times[k + 1]]
            extra_in += [False, True]
    lo = np.concatenate([lo, extra_lo])
    hi = np.concatenate([hi, extra_hi])
    lo_inside = np.concatenate([lo_inside, np.asarray(extra_in, dtype=bool)])
    for _ in range(40):  # bisection to ~1e-9 of a sampling step
        mid = 0.5 * (lo + hi)
        now_inside = _margins_at(refine, mid, eop)[which] < 0 if mid.size else mid > 0
        same = now_inside == lo_inside
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    edges = 0.5 * (lo + hi)
    entering = ~lo_inside
    order = np.argsort(edges)
    edges, entering = edges[order], entering[order]
    out = []
    start: float | None = float(times[0]) if inside[0] else None
    start_clipped = bool(inside[0])
    for when, enters in zip(edges, entering, strict=True):
        if enters and start is None:
            start, start_clipped = float(when), False
        elif not enters and start is not None:
            out.append((start, float(when), start_clipped, False))
            start = None
    if start is not None:
        out.append((start, float(times[-1]), start_clipped, True))
    return out


def eclipse_intervals(
    orbit_list: Sequence[propagation.Orbit],
    start: datetime,
    end: datetime,
    *,
    step_s: float | None = None,
    eop: timescales.EarthOrientation | None = None,
) -> list[list[EclipseInterval]]:
    """Umbra and penumbra intervals of each orbit between ``start`` and ``end``.

    Sampled every ``step_s`` (default: an eighth of the perigee timescale r/v, capped
    at 600 s), boundaries bisected to well under a millisecond. Intervals are sorted
    by start; penumbra intervals exclude the umbra they surround.
    """
    eop = eop or timescales.bundled()
    t0, t1 = timescales.unix_seconds(start), timescales.unix_seconds(end)
    if not t1 > t0:
        raise ValueError("end must be after start")
    results = []
    for orbit in orbit_list:
        step = step_s or min(600.0, propagation.perigee_timescale_s(orbit) / 8.0)
        count = max(2, math.ceil((t1 - t0) / step) + 1)
        times = np.linspace(t0, t1, count)
        umbra_margin, shadow_margin = _margins_at(orbit, times, eop)
        umbra = _intervals_of(umbra_margin, times, orbit, 0, eop)
        shadow = _intervals_of(shadow_margin, times, orbit, 1, eop)
        intervals = [
            EclipseInterval(UMBRA, timescales.to_datetime(a), timescales.to_datetime(b), ca, cb)
            for a, b, ca, cb in umbra
        ]
        # Penumbra = shadow minus umbra: cut each shadow interval around its umbrae.
        for a, b, ca, cb in shadow:
            cursor, cursor_clipped = a, ca
            for ua, ub, _, ucb in umbra:
                if ub <= a or ua >= b:
                    continue
                if ua > cursor:
                    intervals.append(
                        EclipseInterval(
                            PENUMBRA,
                            timescales.to_datetime(cursor),
                            timescales.to_datetime(ua),
                            cursor_clipped,
                            False,
                        )
                    )
                cursor, cursor_clipped = ub, False
                if ucb:
                    cursor = b
            if cursor < b:
                intervals.append(
                    EclipseInterval(
                        PENUMBRA,
                        timescales.to_datetime(cursor),
                        timescales.to_datetime(b),
                        cursor_clipped,
                        cb,
                    )
                )
        intervals.sort(key=lambda item: (item.start, item.kind))
        results.append(intervals)
    return results
