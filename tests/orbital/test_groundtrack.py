"""Ground tracks against Skyfield; the Sun's subpoint against its ephemeris; footprints
against look angles; shadow transitions on a grid against the bisected eclipse intervals."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import skyfield.tests
from skyfield.api import EarthSatellite, load_file, wgs84

from orbital import eclipses, geometry, groundtrack, propagation
from orbital.tle import format_tle
from tests.orbital.reference import TS, from_unix, sgp4_verification_tles


def _leo(epoch: datetime, inclination: float = 97.6, mean_motion: float = 15.2) -> tuple[str, str]:
    return format_tle(
        norad_id=1,
        epoch=epoch,
        inclination_deg=inclination,
        raan_deg=120.0,
        eccentricity=0.001,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=10.0,
        mean_motion_rev_per_day=mean_motion,
    )


@pytest.mark.parametrize("norad", [28057, 8195])
def test_ground_track_matches_skyfield_subpoint(norad: int) -> None:
    _, line1, line2 = sgp4_verification_tles()[norad]
    satellite = EarthSatellite(line1, line2, ts=TS)
    start = satellite.epoch.utc_datetime().timestamp()
    times = start + np.linspace(0.0, 6 * 3600.0, 97)
    tracks = groundtrack.ground_tracks([propagation.TleOrbit(line1, line2)], times)
    position = satellite.at(from_unix(times))
    lat, lon = wgs84.latlon_of(position)
    height = wgs84.height_of(position).km
    assert np.abs(tracks.latitude_deg[0] - lat.degrees).max() < 1e-4
    lon_error = (tracks.longitude_deg[0] - lon.degrees + 180.0) % 360.0 - 180.0
    assert np.abs(lon_error).max() < 1e-4
    assert np.abs(tracks.height_km[0] - height).max() < 0.01


def test_geodetic_of_surface_points_round_trips() -> None:
    for lat, lon, alt in [(0.0, 0.0, 0.0), (78.23, 15.41, 500.0), (-33.15, -70.67, 700.0)]:
        site = propagation.topocentre(lat, lon, alt)
        got_lat, got_lon, got_h = groundtrack.geodetic(site.position_km)
        assert float(got_lat) == pytest.approx(lat, abs=1e-9)
        assert float(got_lon) == pytest.approx(lon, abs=1e-9)
        assert float(got_h) == pytest.approx(alt / 1000.0, abs=1e-9)
    pole_lat, _, pole_h = groundtrack.geodetic(np.array([0.0, 0.0, 6356.752314 + 1.0]))
    assert float(pole_lat) == pytest.approx(90.0) and float(pole_h) == pytest.approx(1.0, abs=1e-6)


def test_period_from_mean_motion_and_from_kepler() -> None:
    line1, line2 = _leo(datetime(2026, 1, 1, tzinfo=UTC), mean_motion=15.0)
    # SGP4's Kozai mean motion: within a few parts in 1e4 of 86400 / 15.
    assert groundtrack.period_s(propagation.TleOrbit(line1, line2)) == pytest.approx(
        5760.0, rel=1e-3
    )


def test_subsolar_point_follows_skyfields_sun() -> None:
    ephemeris = load_file(
        str(Path(skyfield.tests.__file__).parent / "data" / "de430-2015-03-02.bsp")
    )
    earth, sun = ephemeris["earth"], ephemeris["sun"]
    for hour in (0, 7, 13, 19):
        moment = datetime(2015, 3, 1, hour, 30, tzinfo=UTC)
        t = TS.from_datetime(moment)
        sub = wgs84.subpoint_of(earth.at(t).observe(sun).apparent())
        lat, lon = groundtrack.subsolar_point(moment.timestamp())
        # A spherical Earth (geocentric latitude) and the low-precision Sun.
        assert lat == pytest.approx(sub.latitude.degrees, abs=0.1)
        assert (lon - sub.longitude.degrees + 180) % 360 - 180 == pytest.approx(0.0, abs=0.05)


def test_terminator_is_a_quarter_turn_from_the_subsolar_point() -> None:
    moment = datetime(2026, 6, 21, 12, tzinfo=UTC).timestamp()
    sun_lat, sun_lon = groundtrack.subsolar_point(moment)
    assert sun_lat == pytest.approx(23.44, abs=0.05)
    lons, lats, dark_pole = groundtrack.terminator(moment, points=73)
    assert dark_pole == -90.0  # June: the south pole is in night
    s = np.array(
        [
            math.cos(math.radians(sun_lat)) * math.cos(math.radians(sun_lon)),
            math.cos(math.radians(sun_lat)) * math.sin(math.radians(sun_lon)),
            math.sin(math.radians(sun_lat)),
        ]
    )
    la, lo = np.radians(lats), np.radians(lons)
    points = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)
    assert np.abs(points @ s).max() < 1e-9


def test_footprint_is_where_the_spacecraft_sits_on_the_stations_horizon() -> None:
    station = geometry.station(
        latitude_deg=78.23,
        longitude_deg=15.41,
        min_elevation_deg=5.0,
        horizon_mask=[[0, 3], [120, 8], [240, 3]],
    )
    lats, lons = groundtrack.footprint(station, 550.0, points=25)
    assert lats[0] == pytest.approx(lats[-1]) and lons[0] == pytest.approx(lons[-1])
    site = station.site
    az = np.linspace(0.0, 360.0, 25)
    for a, lat, lon in zip(az, lats, lons, strict=True):
        above = propagation.topocentre(float(lat), float(lon), 550_000.0).position_km
        _az, elevation, _rng, _rate = geometry.topocentric(site, above, np.zeros(3))
        # A spherical Earth against WGS84 positions: a fraction of a degree.
        assert float(elevation) == pytest.approx(float(station.horizon.elevation_deg(a)), abs=0.5)


def test_shadow_schedules_match_the_bisected_eclipse_intervals() -> None:
    epoch = datetime(2026, 3, 1, tzinfo=UTC)
    line1, line2 = _leo(epoch)
    orbit = propagation.TleOrbit(line1, line2)
    start, end = epoch + timedelta(hours=6), epoch + timedelta(hours=10)
    (schedule,) = groundtrack.shadow_schedules(
        [orbit], start.timestamp(), end.timestamp(), step_s=60.0
    )
    intervals = eclipses.eclipse_intervals([orbit], start, end)[0]
    expected: list[tuple[float, str]] = []
    for interval in intervals:
        if not interval.start_clipped:
            expected.append((interval.start.timestamp(), interval.kind))
    # Every boundary the bisection found, entering each kind, within a second or two.
    entered = {(round(t), kind) for t, kind in schedule.changes}
    for when, kind in expected:
        assert any(abs(t - when) < 2.0 and k == kind for t, k in entered), (when, kind)
    assert schedule.state in (groundtrack.SUNLIT, groundtrack.PENUMBRA, groundtrack.UMBRA)
    states = [kind for _, kind in schedule.changes]
    assert groundtrack.SUNLIT in states and groundtrack.UMBRA in states


def test_a_bad_orbit_has_no_schedule() -> None:
    bad = propagation.TleOrbit(*_leo(datetime(2026, 3, 1, tzinfo=UTC), mean_motion=17.5))
    start = datetime(2031, 3, 1, tzinfo=UTC).timestamp()  # long decayed by then
    (schedule,) = groundtrack.shadow_schedules([bad], start, start + 3600.0)
    assert schedule.state is None and schedule.changes == ()


def test_a_coarse_grid_still_passes_through_penumbra() -> None:
    epoch = datetime(2026, 3, 1, tzinfo=UTC)
    orbit = propagation.TleOrbit(*_leo(epoch))
    start = (epoch + timedelta(hours=6)).timestamp()
    (schedule,) = groundtrack.shadow_schedules([orbit], start, start + 4 * 3600.0, step_s=300.0)
    kinds = [kind for _, kind in schedule.changes]
    times = [t for t, _ in schedule.changes]
    assert times == sorted(times)
    for before, after in itertools.pairwise(kinds):
        assert {before, after} != {groundtrack.SUNLIT, groundtrack.UMBRA}
