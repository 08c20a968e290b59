"""Deterministic fleet rows for the scheduling tests (no randomness, fixed epoch)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from ops.fleet import services as fleet_services
from ops.fleet.models import GroundStation, OrbitSet, Spacecraft
from orbital import propagation
from orbital.tle import format_tle
from tests import factories

EPOCH = factories.EPOCH  # 2026-11-24T12:00Z
MU = 398_600.4418


def leo_tle(
    norad: int,
    *,
    epoch: datetime = EPOCH,
    raan: float = 0.0,
    anomaly: float = 0.0,
    inclination: float = 97.6,
) -> tuple[str, str]:
    a = 6378.137 + 550.0
    return format_tle(
        norad_id=norad,
        epoch=epoch,
        inclination_deg=inclination,
        raan_deg=raan,
        eccentricity=0.0002,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=anomaly,
        mean_motion_rev_per_day=86400.0 / (2 * math.pi * math.sqrt(a**3 / MU)),
        bstar=1.0e-4,
    )


def geo_tle(norad: int, *, epoch: datetime = EPOCH, anomaly: float = 10.0) -> tuple[str, str]:
    return format_tle(
        norad_id=norad,
        epoch=epoch,
        inclination_deg=0.05,
        raan_deg=0.0,
        eccentricity=0.0002,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=anomaly,
        mean_motion_rev_per_day=1.00273791,
    )


def leo(slug: str, norad: int, **orbit: float) -> Spacecraft:
    craft = factories.make_spacecraft(slug, norad_id=norad)
    load_tle(craft, *leo_tle(norad, **orbit))  # type: ignore[arg-type]
    return craft


def geo(slug: str, norad: int) -> Spacecraft:
    craft = factories.make_spacecraft(slug, norad_id=norad, role="geo")
    load_tle(craft, *geo_tle(norad))
    return craft


def load_tle(craft: Spacecraft, line1: str, line2: str) -> OrbitSet:
    return fleet_services.orbit_set_load_tle(
        spacecraft=craft, line1=line1, line2=line2, source="test"
    ).orbit_set


def svalbard(**overrides: object) -> GroundStation:
    return factories.make_station("svalbard", **overrides)


def geo_longitude_deg(line1: str, line2: str) -> float:
    """Where the GEO hub hangs at the epoch (computed, not assumed)."""
    states = propagation.propagate([propagation.TleOrbit(line1, line2)], [EPOCH.timestamp()])
    r, _ = states.ecef()
    return float(np.degrees(np.arctan2(r[0, 0, 1], r[0, 0, 0])))


def under_geo(slug: str = "under-geo") -> GroundStation:
    """A station at 40 N on the test GEO hub's meridian: always in view, ~44 deg up."""
    return factories.make_station(
        slug,
        latitude_deg=40.0,
        longitude_deg=round(geo_longitude_deg(*geo_tle(99900)), 3),
        altitude_m=800.0,
        min_elevation_deg=5.0,
    )
