from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from telemetry.models import Metric
from tests.telemetry.conftest import sample_count

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def batch(n: int = 3, node: str = "leo-001", start: datetime | None = None) -> dict[str, Any]:
    start = start or NOW - timedelta(minutes=5)
    return {
        "samples": [
            {
                "node": node,
                "ts": iso(start + timedelta(seconds=i)),
                "metrics": {
                    "battery_soc": 0.8 - i / 100,
                    "gpu_temp_c": 60.0 + i,
                    "ecc_errors_total": i,
                },
            }
            for i in range(n)
        ]
    }


def post(client: APIClient, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.generic(
        "POST", "/api/v1/telemetry", data, content_type="application/json", **extra
    )


def fields_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}, body
    return body["fields"]


def test_write_then_replay_writes_nothing(ingest_client: APIClient) -> None:
    first = post(ingest_client, batch(5))
    assert first.status_code == 200, first.json()
    assert first.json() == {"written": 15, "duplicates": 0, "samples": 5, "nodes": 1}
    replay = post(ingest_client, batch(5))
    assert replay.json() == {"written": 0, "duplicates": 15, "samples": 5, "nodes": 1}
    overlap = post(ingest_client, batch(7))
    assert overlap.json()["written"] == 6 and overlap.json()["duplicates"] == 15
    assert sample_count() == 21


def test_duplicate_inside_one_batch_counted_once(ingest_client: APIClient) -> None:
    body = batch(2)
    body["samples"].append(body["samples"][0])
    response = post(ingest_client, body)
    assert response.json()["written"] == 6 and response.json()["duplicates"] == 3


def test_batch_is_all_or_nothing(ingest_client: APIClient) -> None:
    body = batch(4)
    body["samples"][3]["node"] = "ghost-9"
    response = post(ingest_client, body)
    assert response.status_code == 400
    assert fields_of(response) == {"samples[3].node": "unknown spacecraft 'ghost-9'"}
    assert sample_count() == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["samples"][1].pop("node"), "samples[1].node"),
        (lambda b: b["samples"][1].update(ts="yesterday"), "samples[1].ts"),
        (lambda b: b["samples"][1].update(ts="2026-11-24T12:00:00"), "samples[1].ts"),  # naive
        (lambda b: b["samples"][1].update(metrics={}), "samples[1].metrics"),
        (lambda b: b["samples"][1].update(metrics=[1, 2]), "samples[1].metrics"),
        (
            lambda b: b["samples"][1]["metrics"].update(gpu_temp_c="hot"),
            "samples[1].metrics.gpu_temp_c",
        ),
        (
            lambda b: b["samples"][1]["metrics"].update(gpu_temp_c=None),
            "samples[1].metrics.gpu_temp_c",
        ),
        (lambda b: b["samples"].__setitem__(1, "x"), "samples[1]"),
        (
            lambda b: b["samples"][1]["metrics"].update({"Bad-Name": 1}),
            "samples[1].metrics.Bad-Name",
        ),
        (lambda b: b["samples"][1].update(ts=iso(NOW - timedelta(days=31))), "samples[1].ts"),
        (lambda b: b["samples"][1].update(ts=iso(NOW + timedelta(minutes=10))), "samples[1].ts"),
    ],
)
def test_each_validation_error_names_the_field(
    ingest_client: APIClient, mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    body = batch(3)
    mutate(body)
    response = post(ingest_client, body)
    assert response.status_code == 400, response.content
    assert field in fields_of(response), fields_of(response)
    assert sample_count() == 0
    assert not Metric.objects.filter(name="bad-name").exists()


def test_overflowing_number_refused(ingest_client: APIClient) -> None:
    raw = (
        b'{"samples": [{"node": "leo-001", "ts": "'
        + iso(NOW).encode()
        + b'", "metrics": {"gpu_temp_c": 1e400}}]}'
    )
    response = post(ingest_client, raw)
    assert response.status_code == 400
    assert sample_count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "samples"),
        (b'{"samples": {}}', "samples"),
        (b'{"samples": []}', "samples"),
    ],
)
def test_malformed_bodies(ingest_client: APIClient, body: bytes, field: str) -> None:
    response = post(ingest_client, body)
    assert response.status_code == 400
    assert field in fields_of(response)


def test_unknown_metric_registered_or_refused(ingest_client: APIClient, settings: Any) -> None:
    body = batch(1)
    body["samples"][0]["metrics"]["radiation_dose_rate"] = 0.02
    settings.TELEMETRY_UNKNOWN_METRICS = "refuse"
    refused = post(ingest_client, body)
    assert refused.status_code == 400
    assert "samples[0].metrics.radiation_dose_rate" in fields_of(refused)
    assert sample_count() == 0
    settings.TELEMETRY_UNKNOWN_METRICS = "register"
    accepted = post(ingest_client, body)
    assert accepted.status_code == 200 and accepted.json()["written"] == 4
    metric = Metric.objects.get(name="radiation_dose_rate")
    assert metric.auto_registered and metric.kind == "gauge"


def test_auto_registration_rolled_back_with_a_refused_batch(ingest_client: APIClient) -> None:
    body = batch(2)
    body["samples"][0]["metrics"]["new_metric_total"] = 1
    body["samples"][1]["node"] = "ghost"
    assert post(ingest_client, body).status_code == 400
    assert not Metric.objects.filter(name="new_metric_total").exists()


def test_gzip_body(ingest_client: APIClient) -> None:
    data = gzip.compress(orjson.dumps(batch(3)))
    response = post(ingest_client, data, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200 and response.json()["written"] == 9


def test_bad_gzip_and_unknown_encoding(ingest_client: APIClient) -> None:
    bad = post(ingest_client, b"\x1f\x8bnot-gzip", HTTP_CONTENT_ENCODING="gzip")
    assert bad.status_code == 400 and "Content-Encoding" in fields_of(bad)
    br = post(ingest_client, orjson.dumps(batch(1)), HTTP_CONTENT_ENCODING="br")
    assert br.status_code == 415


def test_oversized_body_refused_early(ingest_client: APIClient, settings: Any) -> None:
    settings.TELEMETRY_MAX_BODY_BYTES = 2048
    big = orjson.dumps(batch(40))
    assert len(big) > 2048
    response = post(ingest_client, big)
    assert response.status_code == 413 and "body" in fields_of(response)
    bomb = gzip.compress(b'{"samples": [' + b" " * 100_000 + b"]}")
    assert len(bomb) < 2048
    response = post(ingest_client, bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert sample_count() == 0


def test_too_many_points(ingest_client: APIClient, settings: Any) -> None:
    settings.TELEMETRY_MAX_POINTS = 5
    response = post(ingest_client, batch(3))
    assert response.status_code == 413


def test_scopes_and_spacecraft_restriction(
    client_with_token: Callable[..., APIClient], nodes: list[Any], api: APIClient
) -> None:
    assert post(api, batch(1)).status_code == 401
    assert post(client_with_token("operate"), batch(1)).status_code == 403
    assert post(client_with_token("schedule"), batch(1)).status_code == 403
    restricted = client_with_token("ingest", spacecraft=[nodes[0]])
    assert post(restricted, batch(1, node="leo-001")).status_code == 200
    denied = post(restricted, batch(1, node="leo-002"))
    assert denied.status_code == 403 and denied.json()["error"] == "node_not_allowed"
    assert sample_count("leo-002") == 0
    # an ingest token cannot read telemetry back
    assert (
        client_with_token("ingest").get("/api/v1/telemetry/latest?node=leo-001").status_code == 403
    )


def test_inactive_spacecraft_refused(ingest_client: APIClient, nodes: list[Any]) -> None:
    nodes[1].active = False
    nodes[1].save()
    response = post(ingest_client, batch(1, node="leo-002"))
    assert response.status_code == 400 and "samples[0].node" in fields_of(response)
