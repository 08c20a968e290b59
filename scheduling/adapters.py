"""Fleet rows to the pure inputs of orbits/passes (and back to keys)."""

from __future__ import annotations

from ops.fleet.models import GroundStation, OrbitKind, OrbitSet
from orbital import geometry, propagation
from orbital.elements import Elements


def orbit_of(orbit_set: OrbitSet) -> propagation.Orbit:
    """The propagatable orbit of an orbit set, keyed by spacecraft id and orbit-set id."""
    if orbit_set.kind == OrbitKind.TLE:
        return propagation.TleOrbit(
            orbit_set.line1,
            orbit_set.line2,
            spacecraft=orbit_set.spacecraft_id,
            orbit_set=orbit_set.pk,
        )
    assert orbit_set.semi_major_axis_km is not None and orbit_set.eccentricity is not None
    return Elements(
        epoch=orbit_set.epoch,
        semi_major_axis_km=orbit_set.semi_major_axis_km,
        eccentricity=orbit_set.eccentricity,
        inclination_deg=orbit_set.inclination_deg or 0.0,
        raan_deg=orbit_set.raan_deg or 0.0,
        arg_perigee_deg=orbit_set.arg_perigee_deg or 0.0,
        true_anomaly_deg=orbit_set.true_anomaly_deg or 0.0,
        spacecraft=orbit_set.spacecraft_id,
        orbit_set=orbit_set.pk,
    )


def station_of(station: GroundStation) -> geometry.Station:
    """A ground station as the pass search sees it, keyed by its id.

    Maintenance is not copied in: stored passes get their maintenance flag when read,
    so a window added after the prediction still flags them.
    """
    return geometry.station(
        latitude_deg=station.latitude_deg,
        longitude_deg=station.longitude_deg,
        altitude_m=station.altitude_m,
        min_elevation_deg=station.min_elevation_deg,
        horizon_mask=station.horizon_mask or [],
        key=station.pk,
    )
