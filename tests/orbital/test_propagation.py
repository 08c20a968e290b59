"""Propagation: SGP4 against Skyfield, element sets against a numerical J2 integration."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from skyfield.api import EarthSatellite
from skyfield.framelib import itrs

from orbital import propagation
from orbital.elements import Elements
from orbital.passes.pairs import Bucket
from tests.orbital.reference import TS, from_unix, sgp4_verification_tles, unix

MU, RE, J2 = propagation.MU_EARTH_KM3_S2, propagation.R_EARTH_J2_KM, propagation.J2_EARTH
EPOCH = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("norad", [28057, 6251, 8195, 23599, 28129, 28626])
def test_sgp4_earth_fixed_states_match_skyfield_itrs(norad: int) -> None:
    _, line1, line2 = sgp4_verification_tles()[norad]
    satellite = EarthSatellite(line1, line2, ts=TS)
    times = unix(satellite.epoch)[0] + np.linspace(0.0, 2 * 86400.0, 97) + 0.37
    states = propagation.propagate([propagation.TleOrbit(line1, line2)], times)
    assert states.errors == (None,)
    r, v = states.ecef()
    position, velocity = satellite.at(from_unix(times)).frame_xyz_and_velocity(itrs)
    assert np.abs(r[0] - position.km.T).max() < 1e-5  # km: 1 cm
    assert np.abs(v[0] - velocity.km_per_s.T).max() < 1e-6  # km/s: 1 mm/s


def test_decayed_tle_is_reported_not_propagated() -> None:
    # SGP4-VER.TLE's sub-orbital Minotaur R/B: lost within the hour after its epoch.
    _, line1, line2 = sgp4_verification_tles()[28872]
    satellite = EarthSatellite(line1, line2, ts=TS)
    times = unix(satellite.epoch)[0] + np.array([0.0, 3600.0, 7200.0])
    states = propagation.propagate([propagation.TleOrbit(line1, line2)], times)
    assert states.errors[0] is not None and "SGP4 error" in states.errors[0]
    assert np.isnan(states.r_km).all()


@pytest.mark.parametrize("norad", [28057, 8195, 23599, 28626])
def test_interpolated_states_stay_within_a_metre_of_direct_propagation(norad: int) -> None:
    from orbital.passes import grid_step_s

    _, line1, line2 = sgp4_verification_tles()[norad]
    orbit = propagation.TleOrbit(line1, line2)
    step = grid_step_s(orbit)
    start = unix(EarthSatellite(line1, line2, ts=TS).epoch)[0]
    grid = start + step * np.arange(-4, int(86400 / step) + 5)
    states = propagation.propagate([orbit], grid)
    r, _ = states.ecef()
    # A "site" at the Earth's centre with up = z: then u is z and rho2 is |r|^2.
    centre, z_axis = np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]])
    bucket = Bucket(grid[0], step, grid.size, r.reshape(-1, 3), centre, centre, centre, z_axis)
    queries = start + np.linspace(0.0, 86400.0, 401)[:-1] + 0.37 * step  # between nodes
    index = np.zeros(queries.size, dtype=np.intp)
    state = bucket.state(index, index, queries, accel=True)
    direct, _ = propagation.propagate([orbit], queries).ecef()
    assert np.abs(state.u - direct[0, :, 2]).max() < 1e-3
    assert np.abs(np.sqrt(state.rho2) - np.linalg.norm(direct[0], axis=1)).max() < 1e-3


# --- element sets -------------------------------------------------------------------------


def kepler_state(a: float, e: float, i: float, raan: float, argp: float, nu: float) -> np.ndarray:
    """Position and velocity from classical elements (radians), written out independently."""
    p = a * (1.0 - e * e)
    radius = p / (1.0 + e * math.cos(nu))
    r_pqw = np.array([radius * math.cos(nu), radius * math.sin(nu), 0.0])
    v_pqw = math.sqrt(MU / p) * np.array([-math.sin(nu), e + math.cos(nu), 0.0])
    co, so, ci, si, cw, sw = (
        math.cos(raan),
        math.sin(raan),
        math.cos(i),
        math.sin(i),
        math.cos(argp),
        math.sin(argp),
    )
    rotation = np.array(
        [
            [co * cw - so * sw * ci, -co * sw - so * cw * ci, so * si],
            [so * cw + co * sw * ci, -so * sw + co * cw * ci, -co * si],
            [sw * si, cw * si, ci],
        ]
    )
    return np.concatenate([rotation @ r_pqw, rotation @ v_pqw])


def j2_dynamics(_: float, y: np.ndarray) -> np.ndarray:
    r, v = y[:3], y[3:]
    radius = np.linalg.norm(r)
    z2 = (r[2] / radius) ** 2
    factor = 1.5 * J2 * MU * RE**2 / radius**5
    perturbation = factor * np.array(
        [r[0] * (5 * z2 - 1), r[1] * (5 * z2 - 1), r[2] * (5 * z2 - 3)]
    )
    return np.concatenate([v, -MU * r / radius**3 + perturbation])


ELEMENT_CASES = [
    # a (km), e, i, RAAN, argp, nu (deg); bound on the position error over a day (km)
    ((6928.137, 0.001, 53.0, 40.0, 30.0, 10.0), 15.0),
    ((7200.0, 0.05, 98.0, 10.0, 90.0, 0.0), 40.0),
    ((12000.0, 0.3, 63.4, 100.0, 270.0, 200.0), 15.0),
]


@pytest.mark.parametrize(("elements", "bound_km"), ELEMENT_CASES)
def test_element_sets_follow_a_numerical_j2_integration(
    elements: tuple[float, ...], bound_km: float
) -> None:
    a, e, i, raan, argp, nu = elements
    orbit = Elements(EPOCH, a, e, i, raan, argp, nu)
    model = propagation.elements_model(orbit)
    # The reference integrates J2 about the pole of the epoch (the model's frame).
    y0 = kepler_state(a, e, *np.radians([i, raan, argp, nu]))
    y0 = np.concatenate([model.gcrs_to_tod @ y0[:3], model.gcrs_to_tod @ y0[3:]])
    times = np.linspace(0.0, 86400.0, 1441)
    solution = solve_ivp(
        j2_dynamics, (0.0, 86400.0), y0, method="DOP853", rtol=1e-12, atol=1e-9, t_eval=times
    )
    reference = solution.y[:3].T
    modelled, _ = model.state_tod(EPOCH.timestamp() + times)
    error = np.linalg.norm(modelled - reference, axis=1)
    period = 2 * math.pi * math.sqrt(a**3 / MU)
    first, last = error[times < period].max(), error[times > 86400.0 - period].max()
    assert error.max() < bound_km
    assert last - first < 0.25 * bound_km, "the error is periodic, it does not grow"

    # Without the secular terms, the same elements drift far away within the day.
    kepler = propagation.ElementsModel(
        **{
            **{name: getattr(model, name) for name in propagation.ElementsModel.__slots__},
            "raan_rate_rad_s": 0.0,
            "arg_perigee_rate_rad_s": 0.0,
            "mean_semi_major_axis_km": a,
            "mean_motion_rad_s": math.sqrt(MU / a**3),
            "keplerian_motion_rad_s": math.sqrt(MU / a**3),
        }
    )
    drift = np.linalg.norm(kepler.state_tod(EPOCH.timestamp() + times)[0] - reference, axis=1)
    assert drift.max() > 10 * error.max()

    # Secular node rate and mean semi-major axis, measured on the integration.
    momentum = np.cross(reference, solution.y[3:].T)
    node = np.unwrap(np.arctan2(momentum[:, 0], -momentum[:, 1]))
    assert np.polyfit(times, node, 1)[0] == pytest.approx(model.raan_rate_rad_s, rel=5e-3)
    speed2 = np.sum(solution.y[3:] ** 2, axis=0)
    osculating_a = 1.0 / (2.0 / np.linalg.norm(reference, axis=1) - speed2 / MU)
    assert osculating_a[times < period].mean() == pytest.approx(
        model.mean_semi_major_axis_km, abs=0.1
    )


def test_element_orbits_are_vectorised_to_earth_fixed_like_tles() -> None:
    import erfa

    orbit = Elements(EPOCH, 6928.137, 0.001, 53.0, 40.0, 30.0, 10.0)
    times = EPOCH.timestamp() + np.linspace(0.0, 7200.0, 25)
    r_ecef, _ = propagation.propagate([orbit], times).ecef()
    r_gcrs, _ = propagation.elements_model(orbit).state_gcrs(times)
    tt1, tt2, ut1, ut2 = propagation.tt_and_ut1(times, propagation.timescales.bundled())
    expected = np.einsum("tij,tj->ti", erfa.c2t06a(tt1, tt2, ut1, ut2, 0.0, 0.0), r_gcrs)
    assert np.abs(r_ecef[0] - expected).max() < 1e-6
