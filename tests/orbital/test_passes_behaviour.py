"""Pass search behaviour: window edges, GEO, masks, maintenance, refraction, filters, fleets."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from orbital import geometry, passes, propagation, timescales
from orbital.elements import Elements
from orbital.tle import format_tle
from tests.orbital.reference import SkyfieldPair, from_unix, sgp4_verification_tles

EPOCH = datetime(2026, 11, 24, tzinfo=UTC)
SVALBARD = dict(latitude_deg=78.2298, longitude_deg=15.4078, altitude_m=500.0)
MU = 398_600.4418


def leo(
    norad: int,
    *,
    raan: float = 0.0,
    anomaly: float = 0.0,
    inclination: float = 97.6,
    altitude_km: float = 550.0,
) -> propagation.TleOrbit:
    a = 6378.137 + altitude_km
    line1, line2 = format_tle(
        norad_id=norad,
        epoch=EPOCH,
        inclination_deg=inclination,
        raan_deg=raan,
        eccentricity=0.0002,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=anomaly,
        mean_motion_rev_per_day=86400.0 / (2 * math.pi * math.sqrt(a**3 / MU)),
    )
    return propagation.TleOrbit(line1, line2, spacecraft=f"sc-{norad}", orbit_set=norad)


def geo_hub() -> propagation.TleOrbit:
    line1, line2 = format_tle(
        norad_id=99900,
        epoch=EPOCH,
        inclination_deg=0.05,
        raan_deg=0.0,
        eccentricity=0.0002,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=10.0,
        mean_motion_rev_per_day=1.00273791,
    )
    return propagation.TleOrbit(line1, line2, spacecraft="geo-hub-1", orbit_set=1)


def search(
    orbit_list: list[propagation.Orbit],
    stations: list[geometry.Station],
    hours: float = 24.0,
    start: datetime = EPOCH,
    **kwargs: object,
) -> passes.PassTable:
    return passes.find_passes(
        orbit_list,
        stations,
        start,
        start + timedelta(hours=hours),
        **kwargs,  # type: ignore[arg-type]
    )


def test_passes_cut_by_the_window_are_clipped_never_shown_as_real_aos_los() -> None:
    sat, station = leo(1), geometry.station(**SVALBARD, min_elevation_deg=5.0)
    day = search([sat], [station])
    assert len(day) > 5 and not day.aos_clipped.any() and not day.los_clipped.any()
    row = int(np.argmax(day.los_s - day.aos_s))
    aos, tca, los = day.aos_s[row], day.tca_s[row], day.los_s[row]

    starts_inside = search([sat], [station], start=timescales.to_datetime(aos + 60.0), hours=1)
    first = starts_inside.passes()[0]
    assert first.aos_clipped and not first.los_clipped
    assert first.aos == timescales.to_datetime(aos + 60.0)
    assert abs(starts_inside.los_s[0] - los) < 1e-3 and abs(starts_inside.tca_s[0] - tca) < 1e-3
    assert [kind for _, kind in starts_inside.events(0)] == [1, 2]  # no rise reported

    inside = search(
        [sat], [station], start=timescales.to_datetime(aos + 20.0), hours=(tca - aos - 40.0) / 3600
    )
    (only,) = inside.passes()
    assert only.aos_clipped and only.los_clipped and only.culminations == ()
    assert only.tca == only.los, "still rising: the highest point is the window's end"
    assert inside.events(0) == []


def test_geo_hub_always_in_view_gives_one_pass_spanning_the_window() -> None:
    hub = geo_hub()
    under = geometry.station(latitude_deg=40.0, longitude_deg=0.0, min_elevation_deg=5.0)
    table = search([hub], [under], hours=48)
    (only,) = table.passes()
    assert only.aos_clipped and only.los_clipped
    assert only.aos == EPOCH and only.los == EPOCH + timedelta(hours=48)
    samples = geometry.look_angles(hub, under.site, np.linspace(table.start_s, table.end_s, 2881))
    assert only.max_elevation_deg == pytest.approx(samples.elevation_deg.max(), abs=1e-3)
    assert only.spacecraft == "geo-hub-1" and only.orbit_set == 1


def reference_crossings(
    orbit: propagation.Orbit,
    station: geometry.Station,
    start_s: float,
    end_s: float,
    refraction: bool,
) -> np.ndarray:
    """Where elevation minus mask changes sign: dense sampling, then bisection.

    Uses direct propagation and :func:`geometry.look_angles` (checked against Skyfield
    in test_lookangles), nothing of the pass search.
    """

    def above(times: np.ndarray) -> np.ndarray:
        look = geometry.look_angles(orbit, station.site, times, refraction=refraction)
        return look.elevation_deg - station.horizon.elevation_deg(look.azimuth_deg)

    times = np.arange(start_s, end_s, 0.5)
    values = above(times)
    change = np.flatnonzero((values[1:] > 0) != (values[:-1] > 0))
    lo, hi = times[change], times[change + 1]
    lo_positive = values[change] > 0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        same = (above(mid) > 0) == lo_positive
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("refraction", [False, True])
def test_azimuth_dependent_mask_matches_dense_sampling(refraction: bool) -> None:
    station = geometry.station(
        **SVALBARD,
        min_elevation_deg=2.0,
        # A ridge to the east, steep enough to cut passes in two or hide them.
        horizon_mask=[[0, 3], [60, 25], [95, 6], [120, 30], [200, 4], [300, 12], [359, 3]],
    )
    fleet = [leo(10 + k, raan=30.0 * k, anomaly=47.0 * k) for k in range(3)]
    table = search(fleet, [station], refraction=refraction)
    for index, orbit in enumerate(fleet):
        rows = np.flatnonzero(table.orbit_index == index)
        ours = np.sort(np.concatenate([table.aos_s[rows], table.los_s[rows]]))
        expected = reference_crossings(orbit, station, table.start_s, table.end_s, refraction)
        assert ours.size == expected.size
        assert np.abs(ours - expected).max() < 0.010
    # The mask really shaped the passes: some start well above the 2 deg floor.
    assert (table.aos_azimuth_deg > 0).all()
    mask_at_aos = station.horizon.elevation_deg(table.aos_azimuth_deg)
    assert (mask_at_aos > 10).any()


def test_maintenance_flags_overlapping_passes_only() -> None:
    sat = leo(2)
    plain = search([sat], [geometry.station(**SVALBARD, min_elevation_deg=5.0)])
    window = (plain.aos_s[3] - 10.0, plain.los_s[4] - 10.0)  # passes 3 and 4 overlap it
    station = geometry.station(**SVALBARD, min_elevation_deg=5.0, maintenance=[window])
    table = search([sat], [station])
    assert list(np.flatnonzero(table.in_maintenance)) == [3, 4]
    assert np.array_equal(table.aos_s, plain.aos_s), "flagged, not dropped"


def test_minimum_culmination_filter() -> None:
    fleet = [leo(3), leo(4, raan=40.0)]
    station = geometry.station(**SVALBARD, min_elevation_deg=5.0)
    everything = search(fleet, [station])
    high = search(fleet, [station], min_culmination_deg=30.0)
    keep = everything.max_elevation_deg >= 30.0
    assert 0 < len(high) < len(everything)
    assert np.array_equal(high.aos_s, everything.aos_s[keep])
    assert all(p.max_elevation_deg >= 30.0 for p in high.passes())
    assert high.culmination_pass.max() < len(high)


def test_refraction_is_off_by_default_and_lifts_the_spacecraft_when_on() -> None:
    sat, station = leo(5), geometry.station(**SVALBARD, min_elevation_deg=5.0)
    geometric = search([sat], [station])
    apparent = search([sat], [station], refraction=True)
    assert len(geometric) == len(apparent)
    assert (apparent.aos_s < geometric.aos_s).all() and (apparent.los_s > geometric.los_s).all()
    # At the refracted AOS the geometric elevation plus refraction is the horizon.
    look = geometry.look_angles(sat, station.site, apparent.aos_s)
    lifted = look.elevation_deg + geometry.refraction_deg(look.elevation_deg)
    assert np.abs(lifted - 5.0).max() < 1e-4
    assert np.allclose(
        apparent.max_elevation_deg,
        geometric.max_elevation_deg + geometry.refraction_deg(geometric.max_elevation_deg),
        atol=1e-4,
    )


def test_a_fleet_searched_at_once_equals_each_pair_searched_alone() -> None:
    fleet = [leo(20 + k, raan=17.0 * k, anomaly=83.0 * k, inclination=53.0) for k in range(6)]
    stations = [
        geometry.station(latitude_deg=lat, longitude_deg=lon, min_elevation_deg=el, key=k)
        for k, (lat, lon, el) in enumerate([(78.2, 15.4, 5), (-33.1, -70.7, 10), (1.3, 103.8, 0)])
    ]
    together = search(fleet, stations, threads=2)
    for i, sat in enumerate(fleet):
        for g, station in enumerate(stations):
            alone = search([sat], [station])
            rows = (together.orbit_index == i) & (together.station_index == g)
            assert np.allclose(together.aos_s[rows], alone.aos_s, atol=1e-6)
            assert np.allclose(together.max_elevation_deg[rows], alone.max_elevation_deg)


def test_failed_orbits_are_reported_and_the_rest_still_searched() -> None:
    _, line1, line2 = sgp4_verification_tles()[28872]  # decays within the hour
    decayed = propagation.TleOrbit(line1, line2)
    start = datetime(2005, 11, 29, 1, tzinfo=UTC)
    cbers = propagation.TleOrbit(*sgp4_verification_tles()[28057][1:])
    station = geometry.station(**SVALBARD, min_elevation_deg=5.0)
    seen: list[float] = []
    table = passes.find_passes(
        [decayed, cbers], [station], start, start + timedelta(days=1), progress=seen.append
    )
    assert set(table.errors) == {0} and "SGP4" in table.errors[0]
    assert len(table) > 0 and set(table.orbit_index) == {1}
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("horizon_deg", [60.0, 80.0, -3.0])
def test_short_passes_high_horizons_and_negative_horizons_match_skyfield(
    horizon_deg: float,
) -> None:
    """Passes that barely clear a high horizon last seconds, between grid points."""
    fleet = [leo(40 + k, raan=23.0 * k, anomaly=61.0 * k, inclination=53.0) for k in range(4)]
    site = dict(latitude_deg=35.0, longitude_deg=-106.0, altitude_m=1600.0)
    station = geometry.station(**site, min_elevation_deg=horizon_deg)
    table = search(fleet, [station])
    start, end = from_unix(np.array([table.start_s, table.end_s]))
    found = 0
    for index, sat in enumerate(fleet):
        pair = SkyfieldPair(
            sat.line1, sat.line2, site["latitude_deg"], site["longitude_deg"], site["altitude_m"]
        )
        sky_t, sky_k, _ = pair.refined_events(start, end, horizon_deg)
        rows = np.flatnonzero(table.orbit_index == index)
        ours = sorted(e for row in rows for e in table.events(int(row)))
        assert [k for _, k in ours] == list(sky_k)
        crossing = sky_k != 1
        assert np.abs(np.array([t for t, _ in ours]) - sky_t)[crossing].max(initial=0) < 0.010
        found += int(crossing.sum())
    assert found >= 2


def test_element_set_orbits_are_searched_like_tles() -> None:
    orbit = Elements(EPOCH, 6928.137, 0.001, 97.6, 10.0, 0.0, 0.0, spacecraft="el")
    station = geometry.station(**SVALBARD, min_elevation_deg=5.0)
    table = search([orbit], [station], hours=12)
    assert len(table) > 3 and table.errors == {}
    expected = reference_crossings(orbit, station, table.start_s, table.end_s, False)
    ours = np.sort(
        np.concatenate([table.aos_s[~table.aos_clipped], table.los_s[~table.los_clipped]])
    )
    assert ours.size == expected.size and np.abs(ours - expected).max() < 0.010
