"""GET /api/v1/passes (+ look-angles), POST /api/v1/passes/predict, GET /api/v1/passes/jobs/{id}."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from scheduling.models import JobState, Pass, PredictionJob
from scheduling.services import passes as pass_services
from tests.scheduling.fleet import EPOCH, geo, leo, svalbard, under_geo

pytestmark = pytest.mark.django_db

Client = Callable[..., APIClient]


@pytest.fixture
def predicted() -> dict[str, object]:
    crafts = [leo("leo-001", 90001), leo("leo-002", 90002, raan=60.0), geo("geo-hub-1", 99900)]
    stations = [svalbard(), under_geo()]
    pass_services.pass_predict(
        spacecraft=crafts, stations=stations, start=EPOCH, end=EPOCH + timedelta(days=1), now=EPOCH
    )
    return {"crafts": crafts, "stations": stations}


@pytest.mark.parametrize("scope", ["schedule", "operate", "admin"])
def test_read_scopes_list_passes(client_with_token: Client, predicted: object, scope: str) -> None:
    response = client_with_token(scope).get("/api/v1/passes", {"limit": 1000})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Pass.objects.count() > 10
    first = body["results"][0]
    assert set(first) >= {
        "spacecraft",
        "station",
        "orbit_set",
        "aos",
        "tca",
        "los",
        "aos_clipped",
        "los_clipped",
        "max_elevation_deg",
        "in_maintenance",
    }
    times = [row["aos"] for row in body["results"]]
    assert times == sorted(times)


def test_ingest_scope_cannot_read_passes(client_with_token: Client) -> None:
    response = client_with_token("ingest").get("/api/v1/passes")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"


def test_filters(client_with_token: Client, predicted: object) -> None:
    api = client_with_token("schedule")
    start, end = EPOCH + timedelta(hours=6), EPOCH + timedelta(hours=12)
    body = api.get(
        "/api/v1/passes",
        {
            "station": "svalbard",
            "spacecraft": "leo-001",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "min_elevation": 20,
            "limit": 1000,
        },
    ).json()
    expected = Pass.objects.filter(
        station__slug="svalbard",
        spacecraft__slug="leo-001",
        los__gt=start,
        aos__lt=end,
        max_elevation_deg__gte=20,
    )
    assert body["count"] == expected.count() > 0
    assert {r["id"] for r in body["results"]} == set(expected.values_list("pk", flat=True))
    geo_body = api.get("/api/v1/passes", {"spacecraft": "geo-hub-1"}).json()
    (hub,) = geo_body["results"]
    assert hub["aos_clipped"] and hub["los_clipped"] and hub["station"] == "under-geo"


def test_token_restricted_to_a_spacecraft_sees_only_its_passes(
    client_with_token: Client, predicted: dict[str, list[object]]
) -> None:
    mine = predicted["crafts"][0]
    body = (
        client_with_token("schedule", spacecraft=[mine])
        .get("/api/v1/passes", {"limit": 1000})
        .json()
    )
    assert {r["spacecraft"] for r in body["results"]} == {"leo-001"}
    other = Pass.objects.exclude(spacecraft=mine).first()
    assert other is not None
    api = client_with_token("schedule", spacecraft=[mine])
    assert api.get(f"/api/v1/passes/{other.pk}").status_code == 404


def test_look_angles(client_with_token: Client, predicted: object) -> None:
    target = Pass.objects.filter(station__slug="svalbard", aos_clipped=False).order_by("aos")[0]
    api = client_with_token("operate")
    body = api.get(f"/api/v1/passes/{target.pk}/look-angles", {"step_s": 30}).json()
    samples = body["samples"]
    assert body["pass_id"] == target.pk and body["refraction"] is False
    assert samples[0]["t"].startswith(target.aos.strftime("%Y-%m-%dT%H:%M:%S"))
    assert abs(samples[0]["elevation_deg"] - target.station.min_elevation_deg) < 1e-3
    assert abs(samples[-1]["elevation_deg"] - target.station.min_elevation_deg) < 1e-3
    assert len(samples) == int(target.duration_s // 30) + 2
    assert samples[0]["range_rate_km_s"] < 0 < samples[-1]["range_rate_km_s"]  # approach, recede
    assert all(0.99997 < s["doppler_factor"] < 1.00003 for s in samples)
    bad = api.get(f"/api/v1/passes/{target.pk}/look-angles", {"step_s": 0})
    assert bad.status_code == 400 and "step_s" in bad.json()["fields"]
    day_long = Pass.objects.get(spacecraft__slug="geo-hub-1")
    too_many = api.get(f"/api/v1/passes/{day_long.pk}/look-angles", {"step_s": 1})
    assert too_many.status_code == 400 and too_many.json()["error"] == "invalid"
    assert api.get("/api/v1/passes/999999/look-angles").status_code == 404


def test_predict_is_asynchronous_and_returns_a_pollable_job(
    client_with_token: Client, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    leo("leo-001", 90001)
    svalbard()
    api = client_with_token("schedule")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[attr-defined]
        response = api.post(
            "/api/v1/passes/predict",
            {
                "spacecraft": ["leo-001"],
                "start": EPOCH.isoformat(),
                "end": (EPOCH + timedelta(hours=12)).isoformat(),
            },
            format="json",
        )
    assert response.status_code == 202
    job = response.json()
    assert job["state"] == "queued" and job["progress"] == 0.0 and job["chunks"] == 1
    assert len(callbacks) == 1, "the chunks are sent to the workers after commit"
    # What the worker would do, run here.
    chunk = PredictionJob.objects.get(pk=job["id"]).chunks.get()
    pass_services.prediction_chunk_run(chunk_id=chunk.pk, now=EPOCH)
    polled = api.get(f"/api/v1/passes/jobs/{job['id']}").json()
    assert polled["state"] == JobState.SUCCEEDED and polled["progress"] == 1.0
    assert polled["passes_stored"] == Pass.objects.count() > 0


def test_predict_validation_and_scopes(client_with_token: Client) -> None:
    leo("leo-001", 90001)
    assert (
        client_with_token("operate").post("/api/v1/passes/predict", {}, format="json").status_code
        == 403
    )
    api = client_with_token("schedule")
    unknown = api.post("/api/v1/passes/predict", {"spacecraft": ["nope"]}, format="json")
    assert unknown.status_code == 400 and "spacecraft" in unknown.json()["fields"]
    backwards = api.post(
        "/api/v1/passes/predict",
        {"start": EPOCH.isoformat(), "end": (EPOCH - timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert backwards.status_code == 400 and backwards.json()["error"] == "invalid_window"
    missing = api.get("/api/v1/passes/jobs/424242")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_demo_fleet_gets_passes_from_the_api(client_with_token: Client) -> None:
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    call_command("predict_passes", "--no-progress", stdout=open("/dev/null", "w"))
    body = client_with_token("schedule").get("/api/v1/passes", {"limit": 1000}).json()
    assert body["count"] > 20
    assert {"leo-001", "geo-hub-1"} <= {row["spacecraft"] for row in body["results"]}


def test_schema_documents_the_endpoints(client_with_token: Client) -> None:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {
        "/api/v1/passes",
        "/api/v1/passes/{id}",
        "/api/v1/passes/{id}/look-angles",
        "/api/v1/passes/predict",
        "/api/v1/passes/jobs/{id}",
    } <= set(paths)
