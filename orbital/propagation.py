"""Orbit propagation to Earth-fixed positions, vectorised over spacecraft and times. Pure.

Two kinds of orbit, both ending in the same arrays:

* :class:`TleOrbit`: SGP4 (``sgp4.api.SatrecArray``, WGS72 constants as the TLE
  theory requires) gives TEME states; TEME -> Earth-fixed is a rotation by GMST 1982
  of UT1 (see :mod:`orbital.timescales`), the convention Skyfield and Vallado use.
* :class:`Elements`: classical osculating elements in GCRS (~EME2000) at an
  epoch, propagated with poliastro's API (``hapsira``): Keplerian motion of the
  *mean* elements plus the first-order J2 secular drift of RAAN, argument of perigee
  and mean anomaly, in the true-of-date equator of the epoch (the plane J2 acts
  about). The given semi-major axis is turned into a mean one with Kozai's
  first-order short-period term: without it the along-track error grows by
  hundreds of km a day. Short-period terms are not added back, so positions carry
  a bounded error of a few km (LEO), which does not grow. GCRS -> ITRS is IAU
  2006/2000A (ERFA) with the same UT1 and no polar motion.

Both produce "TEME-like" inertial states on a time grid (for element orbits the
Earth-fixed state rotated back by GMST 1982), so one code path converts to
Earth-fixed coordinates and interpolates between grid points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sgp4.api import WGS72, Satrec, SatrecArray

from orbital import timescales
from orbital.constants import (
    EARTH_ROTATION_RAD_S,
    J2_EARTH,
    MU_EARTH_KM3_S2,
    MU_WGS72_KM3_S2,
    R_EARTH_J2_KM,
    SECONDS_PER_DAY,
    WGS84_A_KM,
    WGS84_F,
)
from orbital.elements import Elements, Key
from orbital.timescales import FloatArray

SGP4_ERRORS = {
    1: "mean eccentricity out of range",
    2: "mean motion below zero",
    3: "perturbed eccentricity out of range",
    4: "semi-latus rectum below zero",
    5: "orbit decayed (below the Earth's surface)",
    6: "orbit decayed",
}


@dataclass(frozen=True, slots=True)
class TleOrbit:
    line1: str
    line2: str
    spacecraft: Key = None
    orbit_set: Key = None


Orbit = TleOrbit | Elements


# --- stations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topocentre:
    """A point on the WGS84 ellipsoid: Earth-fixed position (km) and its local axes."""

    position_km: FloatArray
    east: FloatArray
    north: FloatArray
    up: FloatArray


def topocentre(latitude_deg: float, longitude_deg: float, altitude_m: float) -> Topocentre:
    lat = math.radians(latitude_deg)
    lon = math.radians(longitude_deg)
    e2 = WGS84_F * (2.0 - WGS84_F)
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    sin_lon, cos_lon = math.sin(lon), math.cos(lon)
    n = WGS84_A_KM / math.sqrt(1.0 - e2 * sin_lat * sin_lat)
    h = altitude_m / 1000.0
    position = np.array(
        [
            (n + h) * cos_lat * cos_lon,
            (n + h) * cos_lat * sin_lon,
            (n * (1.0 - e2) + h) * sin_lat,
        ]
    )
    return Topocentre(
        position_km=position,
        east=np.array([-sin_lon, cos_lon, 0.0]),
        north=np.array([-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat]),
        up=np.array([cos_lat * cos_lon, cos_lat * sin_lon, sin_lat]),
    )


# --- characterising orbits ------------------------------------------------------------------


def _tle_satrec(orbit: TleOrbit) -> Satrec:
    return Satrec.twoline2rv(orbit.line1, orbit.line2, WGS72)


def perigee_timescale_s(orbit: Orbit) -> float:
    """r/v at perigee: the time over which the orbit bends by one radian.

    Grid steps are chosen as a fraction of it, so eccentric orbits get finer grids.
    """
    if isinstance(orbit, TleOrbit):
        satrec = _tle_satrec(orbit)
        n_rad_s = satrec.no_kozai / 60.0
        ecc = satrec.ecco
        a = (MU_WGS72_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0)
        mu = MU_WGS72_KM3_S2
    else:
        a = orbit.semi_major_axis_km
        ecc = orbit.eccentricity
        mu = MU_EARTH_KM3_S2
    r_p = a * (1.0 - ecc)
    v_p = math.sqrt(mu * (1.0 + ecc) / r_p)
    return r_p / v_p


def eccentricity(orbit: Orbit) -> float:
    """Eccentricity (SGP4's mean one for a TLE)."""
    if isinstance(orbit, TleOrbit):
        return float(_tle_satrec(orbit).ecco)
    return orbit.eccentricity


# --- element sets ------------------------------------------------------------------------


def _jd_split(unix_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    days = unix_s / SECONDS_PER_DAY
    whole = np.floor(days)
    return 2_440_587.5 + whole, days - whole


def tt_and_ut1(
    unix_s: FloatArray, eop: timescales.EarthOrientation
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    tt1, tt2 = _jd_split(unix_s + eop.tai_minus_utc(unix_s) + 32.184)
    ut1, ut2 = _jd_split(unix_s + eop.ut1_minus_utc(unix_s))
    return tt1, tt2, ut1, ut2


@lru_cache(maxsize=1)
def _hapsira() -> dict[str, Any]:
    """Import hapsira lazily (about 1 s) and cache its numba code on disk.

    hapsira's kernels are compiled by numba on first call (several seconds each);
    ``enable_caching`` keeps the machine code in numba's cache (``__pycache__`` next
    to the source, or ``NUMBA_CACHE_DIR``), so later processes load it in ~0.1 s.
    """
    import numba
    from astropy import units
    from astropy.time import Time
    from hapsira.bodies import Earth
    from hapsira.core import angles, elements
    from hapsira.twobody import Orbit as HapsiraOrbit

    for dispatcher in (elements.coe2rv, elements.coe2rv_many, elements.rv2coe):
        dispatcher.enable_caching()

    m_to_e, e_to_nu = angles.M_to_E, angles.E_to_nu

    @numba.vectorize(["float64(float64, float64)"], cache=True)
    def mean_to_true(mean_anomaly: float, ecc: float) -> float:
        return float(e_to_nu(m_to_e(mean_anomaly, ecc), ecc))

    return {
        "units": units,
        "Time": Time,
        "Earth": Earth,
        "Orbit": HapsiraOrbit,
        "rv2coe": elements.rv2coe,
        "coe2rv_many": elements.coe2rv_many,
        "nu_to_E": angles.nu_to_E,
        "E_to_M": angles.E_to_M,
        "mean_to_true": mean_to_true,
    }


def warm_up() -> None:
    """Compile (or load from cache) hapsira's kernels now, off any hot path."""
    from datetime import UTC

    orbit = Elements(datetime(2026, 1, 1, tzinfo=UTC), 7000.0, 0.01, 50.0, 1.0, 2.0, 3.0)
    start = orbit.epoch.timestamp()
    elements_model(orbit).state_tod(np.array([start, start + 60.0]))


@dataclass(frozen=True, slots=True)
class ElementsModel:
    """Mean elements and J2 secular rates in the true-of-date equator of the epoch.

    ``gcrs_to_tod`` rotates GCRS into that frame (bias, precession, nutation at epoch).
    """

    epoch_unix_s: float
    gcrs_to_tod: FloatArray
    mean_semi_major_axis_km: float
    eccentricity: float
    inclination_rad: float
    raan_rad: float
    arg_perigee_rad: float
    mean_anomaly_rad: float
    mean_motion_rad_s: float
    keplerian_motion_rad_s: float
    raan_rate_rad_s: float
    arg_perigee_rate_rad_s: float

    def state_tod(self, unix_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Position (km) and velocity (km/s), shape (T, 3), in the epoch's true-of-date frame.

        Velocity is the time derivative of the modelled position (mean anomaly, node
        and perigee all moving), so positions and velocities are mutually consistent
        for interpolation.
        """
        hp = _hapsira()
        dt = np.asarray(unix_s, dtype=np.float64) - self.epoch_unix_s
        count = dt.shape[0]
        mean_anomaly = self.mean_anomaly_rad + self.mean_motion_rad_s * dt
        mean_anomaly = np.mod(mean_anomaly + math.pi, 2.0 * math.pi) - math.pi
        raan = self.raan_rad + self.raan_rate_rad_s * dt
        argp = self.arg_perigee_rad + self.arg_perigee_rate_rad_s * dt
        ecc = self.eccentricity
        nu = hp["mean_to_true"](mean_anomaly, np.full(count, ecc))
        p = self.mean_semi_major_axis_km * (1.0 - ecc * ecc)
        r, v_kepler = hp["coe2rv_many"](
            np.full(count, MU_EARTH_KM3_S2),
            np.full(count, p),
            np.full(count, ecc),
            np.full(count, self.inclination_rad),
            raan,
            argp,
            nu,
        )
        # d/dt of the position: along the orbit at the J2-corrected mean motion, plus
        # the node turning about z and the perigee turning about the orbit normal.
        normal = np.cross(r, v_kepler)
        normal /= np.linalg.norm(normal, axis=1)[:, None]
        z_axis = np.array([0.0, 0.0, 1.0])
        v = (
            v_kepler * (self.mean_motion_rad_s / self.keplerian_motion_rad_s)
            + self.raan_rate_rad_s * np.cross(z_axis, r)
            + self.arg_perigee_rate_rad_s * np.cross(normal, r)
        )
        return np.asarray(r, dtype=np.float64), np.asarray(v, dtype=np.float64)

    def state_gcrs(self, unix_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        r, v = self.state_tod(unix_s)
        return r @ self.gcrs_to_tod, v @ self.gcrs_to_tod


def elements_model(
    orbit: Elements, eop: timescales.EarthOrientation | None = None
) -> ElementsModel:
    import erfa

    hp = _hapsira()
    units = hp["units"]
    eop = eop or timescales.bundled()
    epoch_unix = timescales.unix_seconds(orbit.epoch)
    nu_wrapped = (orbit.true_anomaly_deg + 180.0) % 360.0 - 180.0
    hap_orbit = hp["Orbit"].from_classical(
        hp["Earth"],
        orbit.semi_major_axis_km * units.km,
        orbit.eccentricity * units.one,
        orbit.inclination_deg * units.deg,
        orbit.raan_deg * units.deg,
        orbit.arg_perigee_deg * units.deg,
        nu_wrapped * units.deg,
        epoch=hp["Time"](epoch_unix, format="unix", scale="utc"),
    )
    r_gcrs, v_gcrs = (
        q.to_value(units.km / unit) for q, unit in zip(hap_orbit.rv(), (1, units.s), strict=False)
    )
    tt1, tt2, _, _ = tt_and_ut1(np.array([epoch_unix]), eop)
    gcrs_to_tod = np.asarray(erfa.pnm06a(tt1[0], tt2[0]), dtype=np.float64)
    p, ecc, inc, raan, argp, nu = hp["rv2coe"](
        MU_EARTH_KM3_S2, gcrs_to_tod @ r_gcrs, gcrs_to_tod @ v_gcrs
    )
    a_osc = p / (1.0 - ecc * ecc)
    eta = math.sqrt(1.0 - ecc * ecc)
    radius = p / (1.0 + ecc * math.cos(nu))
    cos_i = math.cos(inc)
    # Kozai (1959) first-order short-period part of a; mean = osculating - periodic.
    gamma = 0.5 * J2_EARTH * (R_EARTH_J2_KM / a_osc) ** 2
    a_over_r3 = (a_osc / radius) ** 3
    a_mean = a_osc - a_osc * gamma * (
        (3.0 * cos_i**2 - 1.0) * (a_over_r3 - eta**-3)
        + 3.0 * (1.0 - cos_i**2) * a_over_r3 * math.cos(2.0 * argp + 2.0 * nu)
    )
    n = math.sqrt(MU_EARTH_KM3_S2 / a_mean**3)
    k = J2_EARTH * (R_EARTH_J2_KM / (a_mean * (1.0 - ecc * ecc))) ** 2
    mean_anomaly = float(hp["E_to_M"](hp["nu_to_E"](nu, ecc), ecc))
    return ElementsModel(
        epoch_unix_s=epoch_unix,
        gcrs_to_tod=gcrs_to_tod,
        mean_semi_major_axis_km=a_mean,
        eccentricity=float(ecc),
        inclination_rad=float(inc),
        raan_rad=float(raan),
        arg_perigee_rad=float(argp),
        mean_anomaly_rad=mean_anomaly,
        mean_motion_rad_s=n * (1.0 + 0.75 * k * eta * (3.0 * cos_i**2 - 1.0)),
        keplerian_motion_rad_s=n,
        raan_rate_rad_s=-1.5 * n * k * cos_i,
        arg_perigee_rate_rad_s=0.75 * n * k * (5.0 * cos_i**2 - 1.0),
    )


# --- propagation to a grid -------------------------------------------------------------------


def teme_to_ecef(r: FloatArray, v: FloatArray, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rotate TEME states (..., T, 3) by GMST ``theta`` (T,) into Earth-fixed axes.

    The velocity loses the frame rotation ``omega x r``.
    """
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    x = cos_t * r[..., 0] + sin_t * r[..., 1]
    y = -sin_t * r[..., 0] + cos_t * r[..., 1]
    vx = cos_t * v[..., 0] + sin_t * v[..., 1] + EARTH_ROTATION_RAD_S * y
    vy = -sin_t * v[..., 0] + cos_t * v[..., 1] - EARTH_ROTATION_RAD_S * x
    return np.stack([x, y, r[..., 2]], axis=-1), np.stack([vx, vy, v[..., 2]], axis=-1)


def ecef_to_teme(r: FloatArray, v: FloatArray, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The inverse of :func:`teme_to_ecef`."""
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    vx = v[..., 0] - EARTH_ROTATION_RAD_S * r[..., 1]
    vy = v[..., 1] + EARTH_ROTATION_RAD_S * r[..., 0]
    x = cos_t * r[..., 0] - sin_t * r[..., 1]
    y = sin_t * r[..., 0] + cos_t * r[..., 1]
    wx = np.asarray(cos_t * vx - sin_t * vy, dtype=np.float64)
    wy = np.asarray(sin_t * vx + cos_t * vy, dtype=np.float64)
    return np.stack([x, y, r[..., 2]], axis=-1), np.stack([wx, wy, v[..., 2]], axis=-1)


@dataclass(frozen=True, slots=True)
class Propagation:
    """TEME(-like) states of S spacecraft at T shared instants, plus what went wrong."""

    unix_s: FloatArray  # (T,)
    r_km: FloatArray  # (S, T, 3)
    v_km_s: FloatArray  # (S, T, 3)
    errors: tuple[str | None, ...]  # per spacecraft; states are NaN where SGP4 failed
    theta: FloatArray = field(repr=False)  # GMST 1982 of each instant (T,)

    def ecef(self) -> tuple[FloatArray, FloatArray]:
        return teme_to_ecef(self.r_km, self.v_km_s, self.theta)


def _sgp4_states(
    satrecs: Sequence[Satrec], unix_s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    jd, fr = _jd_split(unix_s)
    errors, r, v = SatrecArray(list(satrecs)).sgp4(jd, fr)
    return np.asarray(r), np.asarray(v), np.asarray(errors)


def propagate(
    orbits: Sequence[Orbit],
    unix_s: npt.ArrayLike,
    *,
    eop: timescales.EarthOrientation | None = None,
) -> Propagation:
    """States of every orbit at every instant (POSIX seconds), in one vectorised sweep."""
    eop = eop or timescales.bundled()
    times = np.asarray(unix_s, dtype=np.float64)
    theta = timescales.gmst82(times, eop.ut1_minus_utc(times))
    count = len(orbits)
    r = np.full((count, times.shape[0], 3), np.nan)
    v = np.full((count, times.shape[0], 3), np.nan)
    errors: list[str | None] = [None] * count
    tle_index = [i for i, orbit in enumerate(orbits) if isinstance(orbit, TleOrbit)]
    if tle_index:
        satrecs = []
        for i in tle_index:
            orbit = orbits[i]
            assert isinstance(orbit, TleOrbit)
            satrecs.append(_tle_satrec(orbit))
        r_tle, v_tle, codes = _sgp4_states(satrecs, times)
        for row, i in enumerate(tle_index):
            failed = codes[row] != 0
            if failed.any():
                code = int(codes[row][failed][0])
                errors[i] = f"SGP4 error {code}: {SGP4_ERRORS.get(code, 'unknown')}"
                continue
            r[i], v[i] = r_tle[row], v_tle[row]
    element_index = [i for i, orbit in enumerate(orbits) if isinstance(orbit, Elements)]
    if element_index:
        import erfa

        tt1, tt2, ut1, ut2 = tt_and_ut1(times, eop)
        c2t = np.asarray(erfa.c2t06a(tt1, tt2, ut1, ut2, 0.0, 0.0))  # (T, 3, 3) GCRS->ITRS
        for i in element_index:
            orbit = orbits[i]
            assert isinstance(orbit, Elements)
            try:
                model = elements_model(orbit, eop)
            except ValueError as exc:
                errors[i] = f"elements: {exc}"
                continue
            r_g, v_g = model.state_gcrs(times)
            r_itrs = np.einsum("tij,tj->ti", c2t, r_g)
            # ITRS velocity: rotate, then remove the Earth's rotation (omega x r).
            v_itrs = np.einsum("tij,tj->ti", c2t, v_g)
            v_itrs[:, 0] += EARTH_ROTATION_RAD_S * r_itrs[:, 1]
            v_itrs[:, 1] -= EARTH_ROTATION_RAD_S * r_itrs[:, 0]
            r[i], v[i] = ecef_to_teme(r_itrs, v_itrs, theta)
    return Propagation(times, r, v, tuple(errors), theta)
