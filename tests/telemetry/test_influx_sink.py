"""The InfluxDB mirror, exercised with the real influxdb-client against a real server
speaking the InfluxDB v2 write protocol: Zenith's own /api/v2/write on a live server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from telemetry.ingest import Samples
from telemetry.sinks.influx import InfluxSink
from tests.factories import make_token
from tests.support.server import ZenithServer
from tests.support.tcpproxy import free_port
from tests.telemetry.conftest import sample_count

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

T = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def samples(node: str, n: int, offset_s: int = 0) -> Samples:
    out = Samples()
    for i in range(n):
        out.nodes.append(node)
        out.times.append(T + timedelta(seconds=offset_s + i))
        out.metrics.append({"gpu_temp_c": 40.0 + i})
        out.where.append(f"samples[{i}]")
    return out


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sink_batches_writes_to_a_v2_endpoint(nodes: list[Any], tmp_path: Path) -> None:
    token = make_token("ingest", name="influx-mirror")
    db = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "ZENITH_VAR_DIR": str(tmp_path),
    }
    with ZenithServer(env, tmp_path / "server.log") as server:
        sink = InfluxSink(
            url=server.url,
            token=token,
            org="zenith",
            bucket="telemetry",
            batch_size=4,
            flush_interval_ms=200,
        )
        _exercise(sink)


def _exercise(sink: InfluxSink) -> None:
    try:
        sink.mirror(samples("leo-002", 10))
        assert wait_for(lambda: sample_count("leo-002") == 10)
        assert wait_for(lambda: sink.health()["written"] == 3)  # 4 + 4 + 2 points
        health = sink.health()
        assert health["ok"] and health["failed"] == 0 and health["last_success"]
    finally:
        sink.close()


def test_sink_failure_is_reported_and_never_blocks(nodes: list[Any]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sink = InfluxSink(
        url=dead,
        token="x",
        org="zenith",
        bucket="telemetry",
        batch_size=2,
        flush_interval_ms=50,
        max_retries=1,
        timeout_ms=500,
    )
    try:
        started = time.monotonic()
        sink.mirror(samples("leo-001", 4))
        assert time.monotonic() - started < 0.5  # queued, not written inline
        assert wait_for(lambda: sink.health()["failed"] >= 1, timeout=30)
        health = sink.health()
        assert health["ok"] is False and "Error" in health["last_error"]
    finally:
        sink.close()


def test_primary_write_unaffected_by_a_dead_mirror(
    nodes: list[Any], settings: Any, client: Client
) -> None:
    from telemetry.sinks import influx

    settings.INFLUXDB_URL = f"http://127.0.0.1:{free_port()}"
    settings.INFLUXDB_TOKEN = "x"
    settings.INFLUXDB_MAX_RETRIES = 0
    settings.INFLUXDB_MAX_RETRY_TIME_MS = 1000
    influx.reset_sink()
    token = make_token("ingest", name="gw")
    try:
        body = {
            "samples": [
                {
                    "node": "leo-003",
                    "ts": T.isoformat().replace("+00:00", "Z"),
                    "metrics": {"gpu_temp_c": 1.0},
                }
            ]
        }
        response = client.post(
            "/api/v1/telemetry",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 200 and response.json()["written"] == 1
        health = client.get("/healthz").json()
        assert "influxdb_sink" in health["checks"]
    finally:
        influx.reset_sink()
