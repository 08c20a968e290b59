"""PostgreSQL going away under a running server: 503 + Retry-After, never a false success,
and no acknowledged sample lost. The database is cut through a TCP relay so the shared
cluster keeps running for everything else; to the server it is a stopped PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from tests.factories import make_token
from tests.support.server import ZenithServer
from tests.support.tcpproxy import TcpProxy
from tests.telemetry.conftest import sample_count

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def _body(i: int) -> dict[str, Any]:
    ts = BASE + timedelta(seconds=i)
    return {
        "samples": [
            {
                "node": "leo-001",
                "ts": ts.isoformat().replace("+00:00", "Z"),
                "metrics": {"gpu_temp_c": 50.0 + i, "battery_soc": 0.5},
            }
        ]
    }


def test_database_outage_answers_503_and_loses_nothing_acknowledged(
    nodes: list[Any], tmp_path: Path
) -> None:
    secret = make_token("ingest", name="gateway")
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "DB_CONNECT_TIMEOUT": "2",
        "ZENITH_VAR_DIR": str(tmp_path),
    }
    acknowledged: list[int] = []
    refused: list[httpx.Response] = []
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        with (
            ZenithServer(env, tmp_path / "server.log") as server,
            httpx.Client(base_url=server.url, headers=headers, timeout=15) as client,
        ):
            for i in range(0, 5):
                response = client.post("/api/v1/telemetry", json=_body(i))
                assert response.status_code == 200, response.text
                acknowledged.append(i)
            proxy.stop()  # PostgreSQL is "down"
            for i in range(5, 8):
                response = client.post("/api/v1/telemetry", json=_body(i))
                refused.append(response)
            health = client.get("/healthz")
            proxy.start()  # and back
            retried = []
            for i in range(5, 8):  # the client retries what was refused
                for _attempt in range(20):
                    response = client.post("/api/v1/telemetry", json=_body(i))
                    if response.status_code == 200:
                        retried.append(i)
                        break
    finally:
        proxy.stop()
    assert [r.status_code for r in refused] == [503, 503, 503]
    for response in refused:
        assert response.headers["Retry-After"]
        assert response.json()["error"] == "unavailable"
    assert health.status_code == 503 and health.json()["checks"]["database"]["ok"] is False
    assert retried == [5, 6, 7]
    assert sample_count("leo-001") == 16  # 8 samples x 2 metrics, each exactly once


def test_postgresql_stopped_and_restarted(tmp_path: Path) -> None:
    """A real PostgreSQL server stopped under a running Zenith, then started again."""
    import subprocess
    import sys

    import psycopg

    from tests.support import pgcluster

    assert pgcluster.available(), "the PostgreSQL server binaries are needed (postgresql-15)"
    cluster = pgcluster.TempCluster().init()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE zenith")
        env = {
            "DATABASE_URL": cluster.url("zenith"),
            "SECRET_KEY": "outage-test-secret-key-0123456789abcdef",
            "ZENITH_VAR_DIR": str(tmp_path),
            "DB_CONNECT_TIMEOUT": "2",
        }
        full_env = {**__import__("os").environ, **env}
        root = Path(__file__).resolve().parents[2]
        setup = (
            "import django; django.setup();"
            "from django.core.management import call_command; call_command('migrate', verbosity=0);"
            "from ops.fleet import services as s;"
            "s.spacecraft_create(slug='leo-001', name='leo-001');"
            "a = s.service_account_get_or_create(name='gw');"
            "print(s.token_create(account=a, name='gw', scopes=['ingest']).secret)"
        )
        secret = (
            subprocess.run(
                [sys.executable, "-c", setup],
                cwd=root,
                env={**full_env, "DJANGO_SETTINGS_MODULE": "zenith.settings"},
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        headers = {"Authorization": f"Bearer {secret}"}
        with (
            ZenithServer(env, tmp_path / "server.log") as server,
            httpx.Client(base_url=server.url, headers=headers, timeout=30) as client,
        ):
            assert client.post("/api/v1/telemetry", json=_body(0)).status_code == 200
            cluster.stop()
            down = client.post("/api/v1/telemetry", json=_body(1))
            health = client.get("/healthz")
            cluster.start()
            cluster.wait_ready()
            retried = None
            for _attempt in range(30):
                retried = client.post("/api/v1/telemetry", json=_body(1))
                if retried.status_code == 200:
                    break
            replay = client.post("/api/v1/telemetry", json=_body(0))
        assert down.status_code == 503 and down.headers["Retry-After"]
        assert down.json()["error"] == "unavailable"
        assert health.status_code == 503
        assert retried is not None and retried.status_code == 200
        assert replay.json()["written"] == 0 and replay.json()["duplicates"] == 2
        with psycopg.connect(cluster.url("zenith")) as conn:
            count = conn.execute("SELECT count(*) FROM telemetry_sample").fetchone()
        assert count is not None and count[0] == 4  # both samples, each metric once
    finally:
        cluster.destroy()
