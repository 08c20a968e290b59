"""Classical (Keplerian) element sets: validation. Pure: no Django.

Angles in degrees, distances in kilometres; exactly one of semi-major axis or
(circular-equivalent) altitude is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from orbital.constants import EARTH_RADIUS_KM, MAX_SEMI_MAJOR_AXIS_KM, MIN_PERIGEE_ALTITUDE_KM


class ElementsError(ValueError):
    """Bad element set. ``fields`` maps field name to message, all problems at once."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


# What propagation and the pass search label results with (spacecraft id, orbit-set id).
Key = int | str | None


@dataclass(frozen=True, slots=True)
class Elements:
    """Osculating classical elements in GCRS (~EME2000) at ``epoch``: the one elements
    type, from validation (``check_elements``) to propagation. Degrees and kilometres;
    ``spacecraft`` and ``orbit_set`` only label results."""

    epoch: datetime
    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_perigee_deg: float
    true_anomaly_deg: float
    spacecraft: Key = None
    orbit_set: Key = None

    @property
    def perigee_altitude_km(self) -> float:
        return self.semi_major_axis_km * (1.0 - self.eccentricity) - EARTH_RADIUS_KM

    @property
    def apogee_altitude_km(self) -> float:
        return self.semi_major_axis_km * (1.0 + self.eccentricity) - EARTH_RADIUS_KM


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def check_elements(
    *,
    epoch: datetime | None,
    eccentricity: object,
    inclination_deg: object,
    raan_deg: object,
    arg_perigee_deg: object,
    true_anomaly_deg: object,
    semi_major_axis_km: object = None,
    altitude_km: object = None,
) -> Elements:
    """Validate every field and return the element set, or raise naming each bad field."""
    errors: dict[str, str] = {}
    if epoch is None:
        errors["epoch"] = "is required"
    elif epoch.tzinfo is None or epoch.utcoffset() is None:
        errors["epoch"] = "must carry a timezone (UTC)"

    ecc = _finite(eccentricity)
    if ecc is None:
        errors["eccentricity"] = "must be a finite number"
    elif not 0.0 <= ecc < 1.0:
        errors["eccentricity"] = "must be in [0, 1): only closed orbits are planned"

    def angle(name: str, value: object, low: float, high: float, closed_high: bool) -> float | None:
        number = _finite(value)
        if number is None:
            errors[name] = "must be a finite number"
            return None
        if number < low or number > high or (not closed_high and number == high):
            bracket = "]" if closed_high else ")"
            errors[name] = f"must be in [{low:g}, {high:g}{bracket} degrees"
            return None
        return number

    inc = angle("inclination_deg", inclination_deg, 0.0, 180.0, True)
    raan = angle("raan_deg", raan_deg, 0.0, 360.0, False)
    argp = angle("arg_perigee_deg", arg_perigee_deg, 0.0, 360.0, False)
    nu = angle("true_anomaly_deg", true_anomaly_deg, 0.0, 360.0, False)

    a: float | None = None
    if (semi_major_axis_km is None) == (altitude_km is None):
        errors["semi_major_axis_km"] = "give exactly one of semi_major_axis_km or altitude_km"
    elif semi_major_axis_km is not None:
        a = _finite(semi_major_axis_km)
        if a is None:
            errors["semi_major_axis_km"] = "must be a finite number"
        elif not EARTH_RADIUS_KM < a <= MAX_SEMI_MAJOR_AXIS_KM:
            errors["semi_major_axis_km"] = (
                f"must be in ({EARTH_RADIUS_KM}, {MAX_SEMI_MAJOR_AXIS_KM:g}] km"
            )
            a = None
    else:
        alt = _finite(altitude_km)
        if alt is None:
            errors["altitude_km"] = "must be a finite number"
        elif not MIN_PERIGEE_ALTITUDE_KM <= alt <= MAX_SEMI_MAJOR_AXIS_KM - EARTH_RADIUS_KM:
            errors["altitude_km"] = f"must be at least {MIN_PERIGEE_ALTITUDE_KM:g} km"
        else:
            a = EARTH_RADIUS_KM + alt

    if a is not None and ecc is not None and "eccentricity" not in errors:
        perigee_alt = a * (1.0 - ecc) - EARTH_RADIUS_KM
        if perigee_alt < MIN_PERIGEE_ALTITUDE_KM:
            field = "semi_major_axis_km" if semi_major_axis_km is not None else "altitude_km"
            errors[field] = (
                f"perigee altitude {perigee_alt:.1f} km is below {MIN_PERIGEE_ALTITUDE_KM:g} km"
            )

    if errors:
        raise ElementsError(errors)
    assert epoch is not None and a is not None and ecc is not None
    assert inc is not None and raan is not None and argp is not None and nu is not None
    return Elements(
        epoch=epoch,
        semi_major_axis_km=a,
        eccentricity=ecc,
        inclination_deg=inc,
        raan_deg=raan,
        arg_perigee_deg=argp,
        true_anomaly_deg=nu,
    )


def check_horizon_mask(points: object) -> list[tuple[float, float]]:
    """An azimuth-dependent horizon: ``[[azimuth_deg, elevation_deg], ...]``.

    Azimuths in [0, 360], strictly increasing; elevations in [-5, 90]. Between
    points the mask is interpolated linearly, wrapping through north.
    Raises ``ValueError`` with the index of the first bad point.
    """
    if points is None:
        return []
    if not isinstance(points, list | tuple):
        raise ValueError("must be a list of [azimuth_deg, elevation_deg] pairs")
    result: list[tuple[float, float]] = []
    previous = -math.inf
    for index, point in enumerate(points):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValueError(f"point {index}: must be a pair [azimuth_deg, elevation_deg]")
        az, el = _finite(point[0]), _finite(point[1])
        if az is None or el is None:
            raise ValueError(f"point {index}: azimuth and elevation must be finite numbers")
        if not 0.0 <= az <= 360.0:
            raise ValueError(f"point {index}: azimuth {az:g} is outside 0-360 degrees")
        if not -5.0 <= el <= 90.0:
            raise ValueError(f"point {index}: elevation {el:g} is outside -5..90 degrees")
        if az <= previous:
            raise ValueError(
                f"point {index}: azimuths must be strictly increasing ({az:g} after {previous:g})"
            )
        previous = az
        result.append((az, el))
    return result
