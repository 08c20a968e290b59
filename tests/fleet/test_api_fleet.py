from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ops.fleet.models import GroundStation, MaintenanceWindow, OrbitSet, Spacecraft
from tests.factories import (
    ISS2_LINE1,
    ISS2_LINE2,
    ISS_LINE1,
    ISS_LINE2,
    make_spacecraft,
    make_station,
)

pytestmark = pytest.mark.django_db


def error_fields(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}, body
    return body["fields"]


def test_spacecraft_create_list_filter(admin_api: APIClient) -> None:
    created = admin_api.post(
        "/api/v1/spacecraft",
        {"slug": "leo-042", "name": "Node 42", "role": "leo", "priority": 7, "gpu_count": 8},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["current_orbit_epoch"] is None
    admin_api.post(
        "/api/v1/spacecraft", {"slug": "geo-1", "name": "Hub", "role": "geo"}, format="json"
    )
    listing = admin_api.get("/api/v1/spacecraft?role=geo").json()
    assert listing["count"] == 1 and listing["results"][0]["slug"] == "geo-1"
    paged = admin_api.get("/api/v1/spacecraft?limit=1&offset=1").json()
    assert paged["count"] == 2 and [r["slug"] for r in paged["results"]] == ["leo-042"]


def test_spacecraft_bad_fields_named(admin_api: APIClient) -> None:
    response = admin_api.post(
        "/api/v1/spacecraft",
        {"slug": "Bad Slug!", "name": "x", "role": "mars", "priority": 99},
        format="json",
    )
    assert response.status_code == 400
    assert {"slug", "role", "priority"} <= set(error_fields(response))
    assert Spacecraft.objects.count() == 0


def test_post_tle_then_current_is_newest_epoch(client_with_token: Callable[..., APIClient]) -> None:
    make_spacecraft("iss", norad_id=25544)
    scheduler = client_with_token("schedule")
    newer = scheduler.post(
        "/api/v1/spacecraft/iss/orbit-sets",
        {"kind": "tle", "line1": ISS2_LINE1, "line2": ISS2_LINE2},
        format="json",
    )
    older = scheduler.post(
        "/api/v1/spacecraft/iss/orbit-sets",
        {"kind": "tle", "line1": ISS_LINE1, "line2": ISS_LINE2},
        format="json",
    )
    assert newer.status_code == 201 and older.status_code == 201
    replay = scheduler.post(
        "/api/v1/spacecraft/iss/orbit-sets",
        {"kind": "tle", "line1": ISS_LINE1, "line2": ISS_LINE2},
        format="json",
    )
    assert replay.status_code == 200 and replay.json()["id"] == older.json()["id"]
    assert OrbitSet.objects.count() == 2
    craft = scheduler.get("/api/v1/spacecraft/iss").json()
    assert craft["current_orbit_set_id"] == newer.json()["id"]
    history = scheduler.get("/api/v1/spacecraft/iss/orbit-sets").json()
    assert [r["id"] for r in history["results"]] == [newer.json()["id"], older.json()["id"]]


@pytest.mark.parametrize(
    ("line1", "line2", "field"),
    [
        (ISS_LINE1[:-1] + "0", ISS_LINE2, "line1"),  # checksum
        (ISS_LINE1, ISS_LINE2[:-1] + "0", "line2"),  # checksum
        (ISS_LINE1[:60], ISS_LINE2, "line1"),  # format: length
        ("X" + ISS_LINE1[1:], ISS_LINE2, "line1"),  # format: line number
    ],
)
def test_bad_tle_names_field_and_writes_nothing(
    admin_api: APIClient, line1: str, line2: str, field: str
) -> None:
    make_spacecraft("iss")
    response = admin_api.post(
        "/api/v1/spacecraft/iss/orbit-sets",
        {"kind": "tle", "line1": line1, "line2": line2},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tle"
    assert field in error_fields(response)
    assert OrbitSet.objects.count() == 0
    assert Spacecraft.objects.get(slug="iss").norad_id is None  # not half-updated


def test_tle_for_another_satellite_refused(admin_api: APIClient) -> None:
    make_spacecraft("other", norad_id=12345)
    response = admin_api.post(
        "/api/v1/spacecraft/other/orbit-sets",
        {"kind": "tle", "line1": ISS_LINE1, "line2": ISS_LINE2},
        format="json",
    )
    assert response.status_code == 400 and "line1" in error_fields(response)


def test_elements_accepted_and_bad_elements_named(admin_api: APIClient) -> None:
    make_spacecraft("leo-001")
    good = {
        "kind": "elements",
        "epoch": "2026-11-24T12:00:00Z",
        "altitude_km": 550,
        "eccentricity": 0.0005,
        "inclination_deg": 53,
        "raan_deg": 120,
        "arg_perigee_deg": 0,
        "true_anomaly_deg": 10,
    }
    ok = admin_api.post("/api/v1/spacecraft/leo-001/orbit-sets", good, format="json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["semi_major_axis_km"] == pytest.approx(6928.137)
    bad = {**good, "eccentricity": 1.2, "inclination_deg": 200, "epoch": "2026-11-25T00:00:00Z"}
    response = admin_api.post("/api/v1/spacecraft/leo-001/orbit-sets", bad, format="json")
    assert response.status_code == 400
    assert {"eccentricity", "inclination_deg"} <= set(error_fields(response))
    missing = admin_api.post(
        "/api/v1/spacecraft/leo-001/orbit-sets",
        {"kind": "elements", "altitude_km": 500},
        format="json",
    )
    assert missing.status_code == 400 and "epoch" in error_fields(missing)
    assert OrbitSet.objects.count() == 1


def test_station_mask_validation(admin_api: APIClient) -> None:
    base = {"slug": "kiruna", "name": "Kiruna", "latitude_deg": 67.86, "longitude_deg": 20.96}
    bad = admin_api.post(
        "/api/v1/stations", {**base, "horizon_mask": [[10, 3], [5, 4]]}, format="json"
    )
    assert bad.status_code == 400 and "horizon_mask" in error_fields(bad)
    high = admin_api.post("/api/v1/stations", {**base, "horizon_mask": [[10, 91]]}, format="json")
    assert high.status_code == 400 and "horizon_mask" in error_fields(high)
    lat = admin_api.post("/api/v1/stations", {**base, "latitude_deg": 91}, format="json")
    assert lat.status_code == 400 and "latitude_deg" in error_fields(lat)
    assert GroundStation.objects.count() == 0
    good = admin_api.post(
        "/api/v1/stations",
        {**base, "horizon_mask": [[0, 2], [180, 6], [360, 2]], "antennas": 2},
        format="json",
    )
    assert good.status_code == 201, good.json()
    assert good.json()["horizon_mask"] == [[0.0, 2.0], [180.0, 6.0], [360.0, 2.0]]
    patched = admin_api.patch(
        "/api/v1/stations/kiruna", {"horizon_mask": [[5, 100]]}, format="json"
    )
    assert patched.status_code == 400
    assert GroundStation.objects.get(slug="kiruna").horizon_mask == [
        [0.0, 2.0],
        [180.0, 6.0],
        [360.0, 2.0],
    ]


def test_maintenance_windows_and_overlap(client_with_token: Callable[..., APIClient]) -> None:
    make_station("svalbard")
    operator = client_with_token("operate")
    first = operator.post(
        "/api/v1/stations/svalbard/maintenance",
        {
            "starts_at": "2026-12-01T08:00:00Z",
            "ends_at": "2026-12-01T10:00:00Z",
            "reason": "feed swap",
        },
        format="json",
    )
    assert first.status_code == 201, first.json()
    clash = operator.post(
        "/api/v1/stations/svalbard/maintenance",
        {"starts_at": "2026-12-01T09:00:00Z", "ends_at": "2026-12-01T11:00:00Z"},
        format="json",
    )
    assert clash.status_code == 409 and "starts_at" in error_fields(clash)
    backwards = operator.post(
        "/api/v1/stations/svalbard/maintenance",
        {"starts_at": "2026-12-02T09:00:00Z", "ends_at": "2026-12-02T08:00:00Z"},
        format="json",
    )
    assert backwards.status_code == 400 and "ends_at" in error_fields(backwards)
    assert MaintenanceWindow.objects.count() == 1
    # operators may put a station into maintenance, but not edit the station itself
    assert (
        operator.patch("/api/v1/stations/svalbard", {"antennas": 3}, format="json").status_code
        == 403
    )


def test_unknown_route_is_json_404(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert admin_api.get("/api/v1/spacecraft/ghost").json()["error"] == "not_found"
