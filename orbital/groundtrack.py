"""What a world map of the fleet needs: ground tracks, the Sun's subpoint and the
terminator, station visibility footprints, and shadow transitions on a time grid. Pure.

* Ground tracks are geodetic (WGS84) latitude and longitude of the Earth-fixed positions
  :mod:`orbital.propagation` gives, one sweep for every orbit and instant.
* The Sun's subpoint and the terminator use the low-precision Sun of
  :mod:`orbital.eclipses` (0.01 deg) turned by GMST 1982 of UT1, on a spherical Earth:
  a terminator drawn on a map is good to a fraction of a degree.
* A footprint is where a spacecraft at a given altitude stands above a station's
  horizon (its mask at each azimuth): on a spherical Earth, the ground angle from the
  station is ``acos(R cos(el) / (R + h)) - el``. Drawn for one reference altitude.
* Shadow transitions come from the conical shadow margins of :mod:`orbital.eclipses`
  sampled on a grid (every orbit at once) and interpolated linearly between samples:
  about a second in LEO at a 60 s grid, enough for a marker on a console. Use
  :func:`orbital.eclipses.eclipse_intervals` where the boundary itself matters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sgp4.api import WGS72, Satrec

from orbital import eclipses, geometry, propagation, timescales
from orbital.constants import (
    EARTH_RADIUS_KM,
    MU_EARTH_KM3_S2,
    TAU,
    WGS84_A_KM,
    WGS84_F,
)
from orbital.timescales import FloatArray

SUNLIT = "sunlit"
PENUMBRA = eclipses.PENUMBRA
UMBRA = eclipses.UMBRA


def period_s(orbit: propagation.Orbit) -> float:
    """The orbital period: from the TLE's mean motion, or Kepler's third law."""
    if isinstance(orbit, propagation.TleOrbit):
        satrec = Satrec.twoline2rv(orbit.line1, orbit.line2, WGS72)
        return TAU / (satrec.no_kozai / 60.0)
    return TAU * math.sqrt(orbit.semi_major_axis_km**3 / MU_EARTH_KM3_S2)


def geodetic(r_ecef_km: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """WGS84 latitude and longitude (deg) and height (km) of Earth-fixed positions
    (``(..., 3)``), by Bowring's method (two iterations: micrometres in LEO)."""
    r = np.asarray(r_ecef_km, dtype=np.float64)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    e2 = WGS84_F * (2.0 - WGS84_F)
    b = WGS84_A_KM * (1.0 - WGS84_F)
    ep2 = e2 / (1.0 - e2)
    p = np.hypot(x, y)
    lon = np.degrees(np.arctan2(y, x))
    beta = np.arctan2(z, (1.0 - WGS84_F) * p)
    for _ in range(2):
        lat = np.arctan2(z + ep2 * b * np.sin(beta) ** 3, p - e2 * WGS84_A_KM * np.cos(beta) ** 3)
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - e2 * sin_lat * sin_lat)
    # Height: along the normal; near the poles use z, where p/cos(lat) is unstable.
    cos_lat = np.cos(lat)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(
            np.abs(cos_lat) > 1e-6,
            p / cos_lat - n,
            np.abs(z) / np.abs(sin_lat) - n * (1.0 - e2),
        )
    return np.degrees(lat), lon, h


@dataclass(frozen=True, slots=True)
class Tracks:
    """Geodetic latitude/longitude (deg) and height (km) of S orbits at T instants;
    NaN where an orbit could not be propagated (``errors`` says why)."""

    unix_s: FloatArray  # (T,)
    latitude_deg: FloatArray  # (S, T)
    longitude_deg: FloatArray  # (S, T)
    height_km: FloatArray  # (S, T)
    errors: tuple[str | None, ...]


def ground_tracks(
    orbits: Sequence[propagation.Orbit],
    unix_s: npt.ArrayLike,
    *,
    eop: timescales.EarthOrientation | None = None,
) -> Tracks:
    times = np.asarray(unix_s, dtype=np.float64)
    states = propagation.propagate(orbits, times, eop=eop)
    r_ecef, _v = states.ecef()
    lat, lon, h = geodetic(r_ecef)
    return Tracks(times, lat, lon, h, states.errors)


def _sun_ecef_unit(unix_s: float, eop: timescales.EarthOrientation) -> FloatArray:
    times = np.array([unix_s], dtype=np.float64)
    sun = eclipses.sun_position_km(times)[0]
    theta = float(timescales.gmst82(times, eop.ut1_minus_utc(times))[0])
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    v = np.array(
        [cos_t * sun[0] + sin_t * sun[1], -sin_t * sun[0] + cos_t * sun[1], sun[2]],
        dtype=np.float64,
    )
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def subsolar_point(
    unix_s: float, *, eop: timescales.EarthOrientation | None = None
) -> tuple[float, float]:
    """Latitude and longitude (deg) where the Sun stands at the zenith (spherical Earth)."""
    u = _sun_ecef_unit(unix_s, eop or timescales.bundled())
    return math.degrees(math.asin(u[2])), math.degrees(math.atan2(u[1], u[0]))


def terminator(
    unix_s: float, *, points: int = 361, eop: timescales.EarthOrientation | None = None
) -> tuple[FloatArray, FloatArray, float]:
    """The day/night boundary as latitudes at evenly spaced longitudes -180..180, and
    the latitude of the pole in night (-90 or 90), to close the night side as a polygon."""
    sun_lat, sun_lon = subsolar_point(unix_s, eop=eop)
    lons = np.linspace(-180.0, 180.0, points)
    # Points 90 deg from the subsolar point: tan(lat) = -cos(lon - lon_s) / tan(lat_s).
    tan_sun = math.tan(math.radians(sun_lat)) if abs(sun_lat) > 1e-6 else 1e-6
    lats = np.degrees(np.arctan(-np.cos(np.radians(lons - sun_lon)) / tan_sun))
    dark_pole = -90.0 if sun_lat > 0 else 90.0
    return lons, lats, dark_pole


def destination(
    latitude_deg: float, longitude_deg: float, azimuth_deg: npt.ArrayLike, angle_rad: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Points ``angle_rad`` (ground angle) away along ``azimuth_deg``, on a sphere."""
    lat1, lon1 = math.radians(latitude_deg), math.radians(longitude_deg)
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    d = np.asarray(angle_rad, dtype=np.float64)
    lat2 = np.arcsin(math.sin(lat1) * np.cos(d) + math.cos(lat1) * np.sin(d) * np.cos(az))
    lon2 = lon1 + np.arctan2(
        np.sin(az) * np.sin(d) * math.cos(lat1), np.cos(d) - math.sin(lat1) * np.sin(lat2)
    )
    lon_deg = (np.degrees(lon2) + 180.0) % 360.0 - 180.0
    return np.degrees(lat2), lon_deg


def footprint(
    station: geometry.Station, altitude_km: float, *, points: int = 121
) -> tuple[FloatArray, FloatArray]:
    """The ground points under which a spacecraft at ``altitude_km`` stands exactly on
    the station's horizon (its mask and minimum elevation), all round; a closed ring."""
    az = np.linspace(0.0, 360.0, points)
    el = np.radians(station.horizon.elevation_deg(az))
    ratio = EARTH_RADIUS_KM / (EARTH_RADIUS_KM + altitude_km)
    angle = np.arccos(np.clip(ratio * np.cos(el), -1.0, 1.0)) - el
    return destination(station.latitude_deg, station.longitude_deg, az, np.maximum(angle, 0.0))


@dataclass(frozen=True, slots=True)
class ShadowSchedule:
    """One orbit's light now and its changes over the grid: ``changes`` holds
    ``(unix_s, state)`` with state ``sunlit``, ``penumbra`` or ``umbra``."""

    state: str | None  # None: not propagated
    changes: tuple[tuple[float, str], ...]


def _state(umbra_margin: float, shadow_margin: float) -> str:
    if umbra_margin < 0:
        return UMBRA
    if shadow_margin < 0:
        return PENUMBRA
    return SUNLIT


def _crossing(t0: float, t1: float, m0: float, m1: float) -> float:
    return t0 + (t1 - t0) * (m0 / (m0 - m1)) if m0 != m1 else t1


def shadow_schedules(
    orbits: Sequence[propagation.Orbit],
    start_s: float,
    end_s: float,
    *,
    step_s: float = 60.0,
    eop: timescales.EarthOrientation | None = None,
) -> list[ShadowSchedule]:
    """Each orbit's light at ``start_s`` and where it changes before ``end_s``."""
    if not end_s > start_s:
        raise ValueError("end must be after start")
    count = max(2, math.ceil((end_s - start_s) / step_s) + 1)
    times = np.linspace(start_s, end_s, count)
    states = propagation.propagate(orbits, times, eop=eop)
    sun = eclipses.sun_position_km(times)  # (T, 3), the frame of the TEME-like states
    umbra, shadow = eclipses.shadow_margins(states.r_km, sun[np.newaxis, :, :])
    out: list[ShadowSchedule] = []
    for i in range(len(orbits)):
        if states.errors[i] is not None:
            out.append(ShadowSchedule(None, ()))
            continue
        u, s = umbra[i], shadow[i]
        changes: list[tuple[float, str]] = []
        prev = _state(float(u[0]), float(s[0]))
        for k in range(1, count):
            current = _state(float(u[k]), float(s[k]))
            if current == prev:
                continue
            t0, t1 = float(times[k - 1]), float(times[k])
            at_umbra = _crossing(t0, t1, float(u[k - 1]), float(u[k]))
            at_shadow = _crossing(t0, t1, float(s[k - 1]), float(s[k]))
            if {prev, current} == {SUNLIT, UMBRA}:
                # Both edges crossed inside one step (a coarse grid): penumbra between.
                if current == UMBRA:
                    changes += [(at_shadow, PENUMBRA), (at_umbra, UMBRA)]
                else:
                    changes += [(at_umbra, PENUMBRA), (at_shadow, SUNLIT)]
            else:
                # One edge: the umbra's when umbra is entered or left, else the shadow's.
                changes.append((at_umbra if UMBRA in (prev, current) else at_shadow, current))
            prev = current
        out.append(ShadowSchedule(_state(float(u[0]), float(s[0])), tuple(changes)))
    return out
