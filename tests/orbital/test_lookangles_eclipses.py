"""Look angles against Skyfield; the Sun against ERFA; eclipses against Skyfield's is_sunlit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import erfa
import numpy as np
import pytest
import skyfield.tests
from skyfield.api import EarthSatellite, load_file

from orbital import eclipses, geometry, propagation, timescales
from orbital.tle import format_tle
from tests.orbital.reference import TS, SkyfieldPair, from_unix, sgp4_verification_tles, unix


@pytest.mark.parametrize("norad", [28057, 8195, 28626])
def test_look_angles_match_skyfield(norad: int) -> None:
    _, line1, line2 = sgp4_verification_tles()[norad]
    site = (64.8587, -147.8499, 300.0)  # Fairbanks
    pair = SkyfieldPair(line1, line2, *site)
    times = unix(pair.satellite.epoch)[0] + np.linspace(0.0, 86400.0, 193) + 0.5
    look = geometry.look_angles(
        propagation.TleOrbit(line1, line2), propagation.topocentre(*site), times
    )
    alt, az, dist = pair.altaz_range(times)
    assert np.abs(look.elevation_deg - alt).max() < 1e-6
    az_error = np.abs((look.azimuth_deg - az + 180.0) % 360.0 - 180.0)
    assert az_error[np.abs(alt) < 89.9].max() < 1e-5
    assert np.abs(look.range_km - dist).max() < 1e-5
    # Range rate: Skyfield's rate of the topocentric range, and the Doppler factor it implies.
    rate = pair.relative.at(from_unix(times)).frame_latlon_and_rates(pair.topos)[5].km_per_s
    assert np.abs(look.range_rate_km_s - rate).max() < 1e-6
    assert np.allclose(look.doppler_factor, 1.0 - rate / 299_792.458, atol=1e-12)


def test_look_angles_for_a_pass_at_a_cadence_include_the_end() -> None:
    times = geometry.sample_times(100.0, 130.0, 7.0)
    assert list(times) == [100.0, 107.0, 114.0, 121.0, 128.0, 130.0]
    with pytest.raises(ValueError):
        geometry.sample_times(0.0, 10.0, 0.0)


def test_refraction_and_masks() -> None:
    assert float(geometry.refraction_deg(0.0)) == pytest.approx(0.48, abs=0.03)
    assert float(geometry.refraction_deg(10.0)) == pytest.approx(0.09, abs=0.01)
    mask = geometry.HorizonMask(5.0, ((0.0, 3.0), (120.0, 8.0), (240.0, 3.0)))
    assert mask.elevation_deg(60.0) == pytest.approx(5.5)  # 3 -> 8, half way
    assert mask.elevation_deg(300.0) == pytest.approx(5.0)  # 3 under the floor of 5
    wrap = geometry.HorizonMask(0.0, ((90.0, 10.0), (270.0, 20.0)))
    assert wrap.elevation_deg(0.0) == pytest.approx(15.0)  # wraps through north
    assert wrap.elevation_deg(360.0) == pytest.approx(15.0)
    assert wrap.lowest_deg == 10.0 and not wrap.is_flat and geometry.HorizonMask(5.0).is_flat


def test_sun_direction_agrees_with_erfa() -> None:
    """Within 0.015 deg of ERFA's geometric Sun: the formula's 0.01 deg plus the 0.006 deg
    of annual aberration it includes (the apparent Sun is the one that casts the shadow)."""
    moments = np.linspace(
        datetime(1990, 1, 1, tzinfo=UTC).timestamp(),
        datetime(2040, 1, 1, tzinfo=UTC).timestamp(),
        301,
    )
    ours = eclipses.sun_position_km(moments)
    for moment, vector in zip(moments, ours, strict=True):
        days = moment / 86400.0 + 2_440_587.5
        heliocentric_earth, _ = erfa.epv00(days, 0.0)
        sun = -np.asarray(heliocentric_earth["p"]) * eclipses.AU_KM
        of_date = erfa.pmat06(days, 0.0) @ sun  # GCRS -> mean equator and equinox of date
        cosine = of_date @ vector / np.linalg.norm(of_date) / np.linalg.norm(vector)
        assert np.degrees(np.arccos(min(1.0, cosine))) < 0.015
        assert np.linalg.norm(vector) == pytest.approx(np.linalg.norm(sun), rel=2e-4)


def test_eclipses_bracket_skyfields_shadow_line() -> None:
    """Skyfield's is_sunlit is the shadow of the Sun's centre: mid-penumbra for us."""
    ephemeris = load_file(
        str(Path(skyfield.tests.__file__).parent / "data" / "de430-2015-03-02.bsp")
    )
    epoch = datetime(2015, 3, 1, tzinfo=UTC)
    line1, line2 = format_tle(
        norad_id=1,
        epoch=epoch,
        inclination_deg=97.6,
        raan_deg=120.0,
        eccentricity=0.001,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=10.0,
        mean_motion_rev_per_day=15.2,
    )
    start, end = datetime(2015, 3, 1, 6, tzinfo=UTC), datetime(2015, 3, 1, 12, tzinfo=UTC)
    intervals = eclipses.eclipse_intervals([propagation.TleOrbit(line1, line2)], start, end)[0]
    umbra = [i for i in intervals if i.kind == eclipses.UMBRA]
    penumbra = [i for i in intervals if i.kind == eclipses.PENUMBRA]
    assert len(umbra) >= 3 and len(penumbra) == 2 * len(umbra)
    assert all(8.0 < p.duration_s < 20.0 for p in penumbra), "LEO penumbra lasts seconds"
    satellite = EarthSatellite(line1, line2, ts=TS)

    def sunlit(values: np.ndarray) -> np.ndarray:
        return np.asarray(satellite.at(from_unix(values)).is_sunlit(ephemeris))

    coarse = start.timestamp() + np.arange(0.0, (end - start).total_seconds(), 5.0)
    lit = sunlit(coarse)
    change = np.flatnonzero(lit[1:] != lit[:-1])
    lo, hi, lo_lit = coarse[change], coarse[change + 1], lit[change]
    for _ in range(14):  # Skyfield's shadow line to 0.3 ms
        mid = 0.5 * (lo + hi)
        same = sunlit(mid) == lo_lit
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    assert change.size == 2 * len(umbra)
    for when in 0.5 * (lo + hi):
        (around,) = [p for p in penumbra if p.start.timestamp() <= when <= p.end.timestamp()]
        middle = (around.start.timestamp() + around.end.timestamp()) / 2
        assert abs(when - middle) < 0.3


def test_geo_is_only_eclipsed_around_the_equinoxes() -> None:
    epoch = datetime(2026, 3, 20, tzinfo=UTC)
    line1, line2 = format_tle(
        norad_id=2,
        epoch=epoch,
        inclination_deg=0.05,
        raan_deg=0.0,
        eccentricity=0.0002,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=10.0,
        mean_motion_rev_per_day=1.00273791,
    )
    geo = propagation.TleOrbit(line1, line2)
    march = eclipses.eclipse_intervals([geo], epoch, epoch + timedelta(days=2))[0]
    umbrae = [i for i in march if i.kind == eclipses.UMBRA]
    assert len(umbrae) == 2 and all(60 * 60 < i.duration_s < 75 * 60 for i in umbrae)
    june = datetime(2026, 6, 21, tzinfo=UTC)
    assert eclipses.eclipse_intervals([geo], june, june + timedelta(days=2))[0] == []
    assert timescales.to_datetime(timescales.unix_seconds(june)) == june
