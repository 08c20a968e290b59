from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

T = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@pytest.fixture
def loaded(ingest_client: APIClient) -> None:
    samples = []
    for i in range(0, 600, 10):  # 10 minutes at 0.1 Hz, a gap in minutes 3 and 4
        if 180 <= i < 300:
            continue
        samples.append(
            {
                "node": "leo-001",
                "ts": iso(T + timedelta(seconds=i)),
                "metrics": {"gpu_temp_c": 50.0 + i / 60, "xid_errors_total": i // 100},
            }
        )
    samples.append({"node": "leo-002", "ts": iso(T), "metrics": {"gpu_temp_c": 70.0}})
    response = ingest_client.generic(
        "POST",
        "/api/v1/telemetry",
        orjson.dumps({"samples": samples}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_series_bucketed_with_gap(
    loaded: None, client_with_token: Callable[..., APIClient]
) -> None:
    client = client_with_token("operate")
    response = client.get(
        "/api/v1/telemetry/series",
        {
            "node": "leo-001",
            "metric": "gpu_temp_c",
            "start": iso(T),
            "end": iso(T + timedelta(minutes=10)),
            "bucket_s": 60,
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["bucket_s"] == 60 and body["columns"] == [
        "start",
        "count",
        "min",
        "max",
        "avg",
        "last",
    ]
    counts = [row[1] for row in body["buckets"]]
    assert counts == [6, 6, 6, 0, 0, 6, 6, 6, 6, 6]
    assert body["buckets"][3][2:] == [None, None, None, None]
    assert body["buckets"][0][0] == iso(T)


def test_series_points_picks_bucket_and_counter_rate(
    loaded: None, client_with_token: Callable[..., APIClient]
) -> None:
    client = client_with_token("schedule")
    body = client.get(
        "/api/v1/telemetry/series",
        {
            "node": "leo-001",
            "metric": "xid_errors_total",
            "start": iso(T),
            "end": iso(T + timedelta(minutes=10)),
            "points": 2,
        },
    ).json()
    assert body["bucket_s"] == 300 and body["columns"][-1] == "rate_per_s"
    increase = sum((row[-1] or 0) * 300 for row in body["buckets"])
    assert increase == pytest.approx(5.0)  # counter went 0 -> 5 over the window


def test_series_raw(loaded: None, client_with_token: Callable[..., APIClient]) -> None:
    body = (
        client_with_token("operate")
        .get(
            "/api/v1/telemetry/series",
            {
                "node": "leo-001",
                "metric": "gpu_temp_c",
                "start": iso(T),
                "end": iso(T + timedelta(seconds=30)),
                "raw": "true",
            },
        )
        .json()
    )
    assert body["points"] == [
        [iso(T), 50.0],
        [iso(T + timedelta(seconds=10)), 50.0 + 10 / 60],
        [iso(T + timedelta(seconds=20)), 50.0 + 20 / 60],
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"node": "leo-001", "metric": "gpu_temp_c"}, "start"),
        ({"node": "leo-001", "metric": "nope", "start": iso(T)}, "metric"),
        ({"node": "ghost", "metric": "gpu_temp_c", "start": iso(T)}, "node"),
        (
            {
                "node": "leo-001",
                "metric": "gpu_temp_c",
                "start": iso(T),
                "end": iso(T - timedelta(1)),
            },
            "end",
        ),
        ({"node": "leo-001", "metric": "gpu_temp_c", "start": iso(T), "bucket_s": 0}, "bucket_s"),
    ],
)
def test_series_errors(
    client_with_token: Callable[..., APIClient],
    nodes: list[Any],
    params: dict[str, Any],
    field: str,
) -> None:
    response = client_with_token("operate").get("/api/v1/telemetry/series", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_latest_node_and_fleet(loaded: None, client_with_token: Callable[..., APIClient]) -> None:
    client = client_with_token("operate")
    node = client.get("/api/v1/telemetry/latest", {"node": "leo-001"}).json()
    assert node["metrics"]["gpu_temp_c"]["value"] == pytest.approx(50.0 + 590 / 60)
    assert node["metrics"]["xid_errors_total"]["value"] == 5.0
    fleet = client.get("/api/v1/telemetry/fleet", {"metric": "gpu_temp_c"}).json()
    assert fleet["nodes"]["leo-002"]["value"] == 70.0 and fleet["nodes"]["leo-003"] is None


def test_csv_export(loaded: None, client_with_token: Callable[..., APIClient]) -> None:
    response = client_with_token("operate").get(
        "/api/v1/telemetry/export.csv",
        {
            "node": "leo-001",
            "metric": ["gpu_temp_c", "xid_errors_total"],
            "start": iso(T),
            "end": iso(T + timedelta(minutes=1)),
        },
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "node", "metric", "value"]
    assert len(rows) == 1 + 6 + 6
    assert rows[1] == [iso(T).replace("Z", ".000000Z"), "leo-001", "gpu_temp_c", "50.0"]
    bad = client_with_token("operate").get("/api/v1/telemetry/export.csv", {"node": "leo-001"})
    assert bad.status_code == 400 and {"metric", "start", "end"} <= set(bad.json()["fields"])


def test_metric_registry_api(client_with_token: Callable[..., APIClient]) -> None:
    admin = client_with_token("admin")
    listed = client_with_token("ingest").get("/api/v1/metrics?kind=counter").json()
    assert {m["name"] for m in listed["results"]} >= {"ecc_errors_total", "xid_errors_total"}
    created = admin.post(
        "/api/v1/metrics",
        {"name": "sband_tx_power_w", "unit": "W", "kind": "gauge", "warn_high": 5, "crit_high": 8},
        format="json",
    )
    assert created.status_code == 201, created.json()
    bad = admin.patch(
        "/api/v1/metrics/sband_tx_power_w", {"warn_low": 9, "warn_high": 5}, format="json"
    )
    assert bad.status_code == 400 and "warn_low" in bad.json()["fields"]
    assert (
        client_with_token("operate")
        .post("/api/v1/metrics", {"name": "x_y", "kind": "gauge"}, format="json")
        .status_code
        == 403
    )


def test_export_bounded(client_with_token: Callable[..., APIClient], nodes: list[Any]) -> None:
    client = client_with_token("operate")
    too_long = client.get(
        "/api/v1/telemetry/export.csv",
        {
            "node": "leo-001",
            "metric": "gpu_temp_c",
            "start": iso(T - timedelta(days=8)),
            "end": iso(T),
        },
    )
    assert too_long.status_code == 400 and "start" in too_long.json()["fields"]
    many = client.get(
        "/api/v1/telemetry/export.csv",
        {"node": "leo-001", "metric": [f"m{i}" for i in range(11)], "start": iso(T), "end": iso(T)},
    )
    assert many.status_code == 400 and {"metric", "end"} <= set(many.json()["fields"])


def test_restricted_token_reads_only_its_nodes(
    loaded: None, client_with_token: Callable[..., APIClient], nodes: list[Any]
) -> None:
    client = client_with_token("operate", spacecraft=[nodes[0]])
    window = {"metric": "gpu_temp_c", "start": iso(T), "end": iso(T + timedelta(minutes=1))}
    assert client.get("/api/v1/telemetry/series", {"node": "leo-001", **window}).status_code == 200
    # Another node answers exactly as a node that does not exist: nothing to probe.
    for slug in ("leo-002", "ghost"):
        for path in ("series", "latest", "export.csv"):
            response = client.get(f"/api/v1/telemetry/{path}", {"node": slug, **window})
            assert response.status_code == 400, (slug, path)
            assert response.json()["error"] == "invalid_telemetry"
            assert response.json()["fields"] == {"node": "unknown spacecraft"}
    fleet = client.get("/api/v1/telemetry/fleet", {"metric": "gpu_temp_c"}).json()
    assert list(fleet["nodes"]) == ["leo-001"]
    unknown = client.get("/api/v1/telemetry/fleet", {"metric": "nope"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_metric"
    assert unknown.json()["fields"] == {"metric": "unknown metric"}
    for path, name in (("latest", "node"), ("fleet", "metric")):
        missing = client.get(f"/api/v1/telemetry/{path}")
        assert missing.status_code == 400 and missing.json()["fields"] == {name: "is required"}
