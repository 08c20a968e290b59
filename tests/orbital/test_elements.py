from __future__ import annotations

import pytest

from orbital.elements import ElementsError, check_elements, check_horizon_mask
from tests.factories import EPOCH

GOOD = {
    "epoch": EPOCH,
    "eccentricity": 0.001,
    "inclination_deg": 53.0,
    "raan_deg": 10.0,
    "arg_perigee_deg": 0.0,
    "true_anomaly_deg": 359.9,
}


def test_altitude_becomes_semi_major_axis() -> None:
    elements = check_elements(**GOOD, altitude_km=550.0)
    assert elements.semi_major_axis_km == pytest.approx(6928.137)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eccentricity": 1.0}, "eccentricity"),
        ({"inclination_deg": 180.5}, "inclination_deg"),
        ({"raan_deg": 360.0}, "raan_deg"),
        ({"arg_perigee_deg": -1.0}, "arg_perigee_deg"),
        ({"true_anomaly_deg": float("nan")}, "true_anomaly_deg"),
        ({"epoch": None}, "epoch"),
    ],
)
def test_each_bad_field_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(ElementsError) as info:
        check_elements(**{**GOOD, **change}, altitude_km=550.0)  # type: ignore[arg-type]
    assert field in info.value.fields


def test_perigee_inside_atmosphere_refused() -> None:
    with pytest.raises(ElementsError) as info:
        check_elements(**{**GOOD, "eccentricity": 0.1}, semi_major_axis_km=7000.0)
    assert "perigee" in info.value.fields["semi_major_axis_km"]


def test_exactly_one_size_field() -> None:
    with pytest.raises(ElementsError) as info:
        check_elements(**GOOD, semi_major_axis_km=7000.0, altitude_km=600.0)
    assert "semi_major_axis_km" in info.value.fields


def test_mask_validation() -> None:
    assert check_horizon_mask([[0, 2], [180, 10.5], [360, 2]]) == [(0, 2), (180, 10.5), (360, 2)]
    for bad, fragment in [
        ([[10, 2], [5, 3]], "increasing"),
        ([[400, 2]], "outside 0-360"),
        ([[10, 95]], "outside -5..90"),
        ([[10, -6]], "outside -5..90"),
        ([[10]], "pair"),
        ("north", "list"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            check_horizon_mask(bad)
