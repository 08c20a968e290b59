from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import make_token
from tests.telemetry.conftest import sample_count

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
NS = int(NOW.timestamp()) * 1_000_000_000


def write(client: APIClient, body: str | bytes, query: str = "", **extra: Any) -> Any:
    data = body.encode() if isinstance(body, str) else body
    return client.generic("POST", f"/api/v2/write{query}", data, content_type="text/plain", **extra)


def stored(node: str, metric: str) -> list[tuple[datetime, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.time, s.value FROM telemetry_sample s "
            "JOIN fleet_spacecraft c ON c.id = s.node_id "
            "JOIN telemetry_metric m ON m.id = s.metric_id "
            "WHERE c.slug = %s AND m.name = %s ORDER BY s.time",
            [node, metric],
        )
        return list(cursor.fetchall())


def test_write_lines_then_replay(ingest_client: APIClient) -> None:
    body = "\n".join(
        f"node_health,node=leo-001,site=x battery_soc={0.5 + i / 100},gpu_temp_c={60 + i}i,"
        f"link_up=true {NS + i * 1_000_000_000}"
        for i in range(4)
    )
    first = write(ingest_client, body)
    assert first.status_code == 204, first.content
    assert first["X-Zenith-Written"] == "12" and first["X-Zenith-Duplicates"] == "0"
    assert stored("leo-001", "gpu_temp_c")[0] == (NOW, 60.0)
    assert stored("leo-001", "link_up")[0][1] == 1.0
    replay = write(ingest_client, body)
    assert replay.status_code == 204 and replay["X-Zenith-Written"] == "0"
    assert sample_count() == 12


@pytest.mark.parametrize(
    ("precision", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)]
)
def test_precision(ingest_client: APIClient, precision: str, scale: int) -> None:
    stamp = int(NOW.timestamp()) * scale
    response = write(
        ingest_client, f"node_health,node=leo-002 gpu_temp_c=50 {stamp}", f"?precision={precision}"
    )
    assert response.status_code == 204
    assert stored("leo-002", "gpu_temp_c") == [(NOW, 50.0)]


def test_missing_timestamp_means_now(ingest_client: APIClient) -> None:
    before = datetime.now(UTC)
    assert write(ingest_client, "node_health,node=leo-001 gpu_temp_c=50").status_code == 204
    ((ts, _),) = stored("leo-001", "gpu_temp_c")
    assert before - timedelta(seconds=1) <= ts <= datetime.now(UTC)


def test_other_measurements_are_prefixed(ingest_client: APIClient) -> None:
    response = write(ingest_client, f"cpu,node=leo-001,cpu=cpu-total usage_user=12.5 {NS}")
    assert response.status_code == 204
    assert stored("leo-001", "cpu_usage_user") == [(NOW, 12.5)]


def test_escapes_in_tags(ingest_client: APIClient) -> None:
    body = f"node_health,node=leo-001,rack=a\\ b\\,c gpu_temp_c=1 {NS}"
    assert write(ingest_client, body).status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (f"node_health,site=x gpu_temp_c=1 {NS}", "line 1"),
        (
            f"node_health,node=leo-001 gpu_temp_c=1 {NS}\n"
            f"node_health,node=leo-001 gpu_temp_c= {NS}",
            "line 2",
        ),
        (f'node_health,node=leo-001 status="ok" {NS}', "line 1.status"),
        (
            f"node_health,node=leo-001 gpu_temp_c=1 {NS}\nnode_health,node=ghost gpu_temp_c=1 {NS}",
            "line 2.node",
        ),
        ("node_health,node=leo-001 gpu_temp_c=1 99", "line 1.ts"),
        ("node_health,node=leo-001", "line 1"),
    ],
)
def test_bad_lines_named_and_nothing_written(
    ingest_client: APIClient, body: str, field: str
) -> None:
    response = write(ingest_client, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert sample_count() == 0


def test_bad_precision(ingest_client: APIClient) -> None:
    response = write(ingest_client, f"node_health,node=leo-001 x=1 {NS}", "?precision=h")
    assert response.status_code == 400 and "precision" in response.json()["fields"]


def test_gzip_and_influx_token_header(
    client_with_token: Callable[..., APIClient], nodes: list[Any]
) -> None:
    secret = make_token("ingest", name="telegraf")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    body = gzip.compress(f"node_health,node=leo-003 gpu_temp_c=44 {NS}".encode())
    response = write(client, body, "?org=zenith&bucket=telemetry", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 204
    assert stored("leo-003", "gpu_temp_c") == [(NOW, 44.0)]


def test_wrong_scope_and_restricted_token(
    client_with_token: Callable[..., APIClient], nodes: list[Any]
) -> None:
    line = f"node_health,node=leo-002 gpu_temp_c=1 {NS}"
    assert write(client_with_token("operate"), line).status_code == 403
    restricted = client_with_token("ingest", spacecraft=[nodes[0]])
    assert write(restricted, line).status_code == 403
    assert sample_count() == 0
