"""Topocentric geometry: horizon masks, refraction, look angles. Pure: no Django.

Conventions (shared by pass search and look angles):

* Elevation is **geometric** by default: the angle between the station-to-spacecraft
  vector and the plane normal to the WGS84 ellipsoid normal at the station (no light
  time, no aberration, no polar motion), exactly what Skyfield's
  ``(sat - topos).at(t).altaz()`` returns. With ``refraction=True`` elevations are
  **apparent**: geometric plus Saemundsson's (1986) mean refraction for 10 degC and
  1010 hPa, which is about 0.57 deg at the horizon and 0.1 deg at 10 deg. Below
  -1 deg the formula is held at its -1 deg value (it has no meaning there).
* Azimuth is measured from geodetic north through east, 0..360 deg.
* The horizon at azimuth ``az`` is ``max(min_elevation_deg, mask(az))`` where
  ``mask`` interpolates the station's ``[azimuth_deg, elevation_deg]`` points
  linearly, wrapping through north (from the last point back round to the first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbital import propagation, timescales
from orbital.constants import SPEED_OF_LIGHT_KM_S
from orbital.timescales import FloatArray

_REFRACTION_FLOOR_DEG = -1.0


def refraction_deg(geometric_deg: npt.ArrayLike) -> FloatArray:
    """Saemundsson's refraction (deg) to add to a geometric elevation (deg)."""
    el = np.maximum(np.asarray(geometric_deg, dtype=np.float64), _REFRACTION_FLOOR_DEG)
    arcmin = 1.02 / np.tan(np.radians(el + 10.3 / (el + 5.11)))
    return np.asarray(arcmin / 60.0, dtype=np.float64)


def apparent_elevation_deg(geometric_deg: npt.ArrayLike, refraction: bool) -> FloatArray:
    el = np.asarray(geometric_deg, dtype=np.float64)
    return el + refraction_deg(el) if refraction else el


def geometric_threshold_deg(apparent_deg: float, refraction: bool) -> float:
    """The geometric elevation whose apparent elevation is ``apparent_deg``.

    Apparent elevation increases monotonically with geometric elevation, so a flat
    apparent horizon is a flat geometric one: this lets the pass search work on
    geometry alone. Solved by Newton's method to 1e-10 deg.
    """
    if not refraction:
        return apparent_deg
    el = apparent_deg - float(refraction_deg(apparent_deg))
    for _ in range(50):
        residual = el + float(refraction_deg(el)) - apparent_deg
        slope = 1.0 + (float(refraction_deg(el + 1e-6)) - float(refraction_deg(el - 1e-6))) / 2e-6
        step = residual / slope
        el -= step
        if abs(step) < 1e-10:
            break
    return el


@dataclass(frozen=True, slots=True)
class HorizonMask:
    """The horizon of one station: a floor plus optional azimuth-dependent points."""

    min_elevation_deg: float = 0.0
    points: tuple[tuple[float, float], ...] = ()

    @property
    def is_flat(self) -> bool:
        return all(el <= self.min_elevation_deg for _, el in self.points)

    @property
    def lowest_deg(self) -> float:
        """The lowest the horizon gets at any azimuth."""
        if not self.points:
            return self.min_elevation_deg
        return max(self.min_elevation_deg, min(el for _, el in self.points))

    def elevation_deg(self, azimuth_deg: npt.ArrayLike) -> FloatArray:
        az = np.mod(np.asarray(azimuth_deg, dtype=np.float64), 360.0)
        if not self.points:
            return np.full_like(az, self.min_elevation_deg)
        pts = np.asarray(self.points, dtype=np.float64)
        # Wrap through north: repeat the last point one turn earlier, the first one later.
        xs = np.concatenate([[pts[-1, 0] - 360.0], pts[:, 0], [pts[0, 0] + 360.0]])
        ys = np.concatenate([[pts[-1, 1]], pts[:, 1], [pts[0, 1]]])
        return np.maximum(np.interp(az, xs, ys), self.min_elevation_deg)


@dataclass(frozen=True, slots=True)
class Station:
    """A ground station as the pure pass search sees it.

    ``maintenance`` holds ``(start, end)`` POSIX-second intervals; passes that
    overlap one are flagged, not dropped.
    """

    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0
    horizon: HorizonMask = HorizonMask()
    key: propagation.Key = None
    maintenance: tuple[tuple[float, float], ...] = ()

    @property
    def site(self) -> propagation.Topocentre:
        return propagation.topocentre(self.latitude_deg, self.longitude_deg, self.altitude_m)


def station(
    *,
    latitude_deg: float,
    longitude_deg: float,
    altitude_m: float = 0.0,
    min_elevation_deg: float = 0.0,
    horizon_mask: Sequence[Sequence[float]] = (),
    key: propagation.Key = None,
    maintenance: Sequence[tuple[float, float]] = (),
) -> Station:
    points = tuple((float(az), float(el)) for az, el in horizon_mask)
    return Station(
        latitude_deg=latitude_deg,
        longitude_deg=longitude_deg,
        altitude_m=altitude_m,
        horizon=HorizonMask(min_elevation_deg, points),
        key=key,
        maintenance=tuple((float(a), float(b)) for a, b in maintenance),
    )


@dataclass(frozen=True, slots=True)
class LookAngles:
    """Pointing for one spacecraft from one station at each requested instant.

    ``range_rate_km_s`` is positive when receding. ``doppler_factor`` multiplies a
    transmitted frequency to give the received one, ``1 - range_rate / c`` (first
    order; the second-order terms are below 1e-9 for LEO).
    """

    unix_s: FloatArray
    azimuth_deg: FloatArray
    elevation_deg: FloatArray
    range_km: FloatArray
    range_rate_km_s: FloatArray
    doppler_factor: FloatArray
    refraction: bool


def topocentric(
    site: propagation.Topocentre, r_ecef: FloatArray, v_ecef: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Azimuth (deg), geometric elevation (deg), range (km), range rate (km/s)."""
    d = r_ecef - site.position_km
    east, north, up = d @ site.east, d @ site.north, d @ site.up
    rng = np.sqrt(east * east + north * north + up * up)
    azimuth = np.mod(np.degrees(np.arctan2(east, north)), 360.0)
    elevation = np.degrees(np.arcsin(np.clip(up / rng, -1.0, 1.0)))
    range_rate = np.einsum("...c,...c->...", d, v_ecef) / rng
    return azimuth, elevation, rng, range_rate


def look_angles(
    orbit: propagation.Orbit,
    site: propagation.Topocentre,
    unix_s: npt.ArrayLike,
    *,
    refraction: bool = False,
    eop: timescales.EarthOrientation | None = None,
) -> LookAngles:
    """Az/el/range/range rate/Doppler at each instant, from direct propagation."""
    times = np.asarray(unix_s, dtype=np.float64)
    states = propagation.propagate([orbit], times, eop=eop)
    if states.errors[0] is not None:
        raise ValueError(states.errors[0])
    r_ecef, v_ecef = states.ecef()
    azimuth, elevation, rng, range_rate = topocentric(site, r_ecef[0], v_ecef[0])
    return LookAngles(
        unix_s=times,
        azimuth_deg=azimuth,
        elevation_deg=apparent_elevation_deg(elevation, refraction),
        range_km=rng,
        range_rate_km_s=range_rate,
        doppler_factor=1.0 - range_rate / SPEED_OF_LIGHT_KM_S,
        refraction=refraction,
    )


def sample_times(start_s: float, end_s: float, step_s: float) -> FloatArray:
    """``start, start+step, ...`` and always ``end`` itself (for look-angle tables)."""
    if step_s <= 0 or not math.isfinite(step_s):
        raise ValueError("step must be a positive number of seconds")
    count = math.floor((end_s - start_s) / step_s) + 1
    times = start_s + step_s * np.arange(count, dtype=np.float64)
    if times[-1] < end_s - 1e-6:
        times = np.append(times, end_s)
    return times
