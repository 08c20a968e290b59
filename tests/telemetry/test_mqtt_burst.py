"""A loss-of-signal backlog bursting in: 10,000 QoS 1 messages (1 M points) from 20 gateways
at once, drained by two ``manage.py ingest_mqtt`` processes sharing the subscription, on a
private Mosquitto running Zenith's configuration. Every point is stored exactly once,
also when PostgreSQL is stopped for 30 s under the burst (a private cluster, so the shared
server is left alone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from ops.fleet import services as fleet
from ops.fleet.models import ApiToken
from tests.factories import make_spacecraft
from tests.telemetry.mqtt_private import (
    POINTS_PER_MESSAGE,
    BridgeProcess,
    ZenithBroker,
    publish_burst,
    read,
    wait_online,
)
from tests.telemetry.mqtt_support import committed

pytestmark = pytest.mark.slow

GATEWAYS = 20
MESSAGES_EACH = 500  # 20 x 500 = 10,000 messages, 1,000,000 points
TOTAL_MESSAGES = GATEWAYS * MESSAGES_EACH
TOTAL_POINTS = TOTAL_MESSAGES * POINTS_PER_MESSAGE
BRIDGES = ("zenith-test-burst-a", "zenith-test-burst-b")


def _count(url: str) -> tuple[int, int]:
    with psycopg.connect(url, connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (node_id, metric_id, time)) FROM telemetry_sample"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _wait_stored(bridges: list[BridgeProcess], timeout: float) -> float:
    """Until the bridges report every message stored (their progress lines, so the wait
    itself puts no load on the database)."""
    started = time.monotonic()
    while True:
        stored = sum(bridge.last_stats().get("stored", 0) for bridge in bridges)
        if stored >= TOTAL_MESSAGES:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"{stored:,} of {TOTAL_MESSAGES:,} messages stored after {timeout:.0f} s")
        time.sleep(0.2)


def _tokens() -> dict[str, ApiToken]:
    account = fleet.service_account_get_or_create(name="burst-gateways")
    tokens = {}
    for i in range(GATEWAYS):
        craft = make_spacecraft(f"burst-{i:02d}")
        tokens[craft.slug] = fleet.token_create(
            account=account, name=craft.slug, scopes=["ingest"], spacecraft=[craft]
        ).token
    return tokens


def _assert_each_message_once(bridges: list[BridgeProcess]) -> list[dict[str, int]]:
    for bridge in bridges:
        assert bridge.terminate() == 0, "".join(bridge.lines[-20:])
    stats = [bridge.last_stats() for bridge in bridges]
    assert sum(s["stored"] for s in stats) == TOTAL_MESSAGES, stats
    assert sum(s["written"] for s in stats) == TOTAL_POINTS, stats
    assert all(s["duplicates"] == 0 and s["invalid"] == 0 and s["errors"] == 0 for s in stats)
    # The shared subscription split the load; batching wrote many messages per commit.
    assert all(s["stored"] > 0 for s in stats), stats
    assert sum(s["batches"] for s in stats) < TOTAL_MESSAGES / 5, stats
    return stats


@pytest.fixture
def test_database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ZenithBroker]:
    broker = ZenithBroker(tmp_path)
    yield broker
    broker.stop()


@committed
def test_burst_from_20_publishers_is_stored_exactly_once(
    no_samples: None, broker: ZenithBroker, test_database_url: str
) -> None:
    tokens = _tokens()
    broker.start()
    bridges = [BridgeProcess(broker, cid, {"DATABASE_URL": test_database_url}) for cid in BRIDGES]
    try:
        wait_online(broker, *BRIDGES)
        publish_s = publish_burst(broker.url, tokens, MESSAGES_EACH)
        drain_s = _wait_stored(bridges, timeout=120)
        reading = read(broker)
        stats = _assert_each_message_once(bridges)
    finally:
        for bridge in bridges:
            bridge.close()
    assert _count(test_database_url) == (TOTAL_POINTS, TOTAL_POINTS)
    assert reading.figures.dropped_total == 0
    print(
        f"\n{TOTAL_MESSAGES:,} messages published in {publish_s:.1f} s, all stored "
        f"{drain_s:.1f} s later ({TOTAL_POINTS / (publish_s + drain_s):,.0f} points/s "
        f"end to end); per bridge: {stats}"
    )


@committed
def test_burst_while_postgresql_is_stopped_for_30_s_is_stored_exactly_once(
    nodes: list[Any], broker: ZenithBroker, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.support import pgcluster

    assert pgcluster.available(), "the PostgreSQL server binaries are needed (postgresql-15)"
    tokens = _tokens()  # in the test database: the broker's files come from there at first
    broker.start()
    cluster = pgcluster.TempCluster().init()
    bridges: list[BridgeProcess] = []
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE zenith")
        url = cluster.url("zenith")
        # The bridges' own database: the same spacecraft and tokens (same ids and hashes,
        # so the same broker logins), created by a separate process.
        rows = [(t.pk, t.token_sha256, slug) for slug, t in tokens.items()]
        setup = (
            "import django, sys; django.setup();"
            "from django.core.management import call_command; call_command('migrate', verbosity=0);"
            "from ops.fleet.models import ApiToken; from ops.fleet import services as s;"
            "a = s.service_account_get_or_create(name='burst-gateways');"
            f"rows = {rows!r}\n"
            "for pk, digest, slug in rows:\n"
            "    c = s.spacecraft_create(slug=slug, name=slug)\n"
            "    t = ApiToken.objects.create(pk=pk, account=a, name=slug, prefix='x',"
            " token_sha256=digest, scopes=['ingest'], restricted=True)\n"
            "    t.spacecraft.set([c])\n"
        )
        subprocess.run(
            [sys.executable, "-c", setup],
            cwd=Path(__file__).resolve().parents[2],
            env={
                **__import__("os").environ,
                "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "zenith.settings",
            },
            check=True,
            timeout=120,
        )
        env = {"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "2", "MQTT_RETRY_MAX_S": "2"}
        bridges = [BridgeProcess(broker, cid, env) for cid in BRIDGES]
        wait_online(broker, *BRIDGES)

        cluster.stop()
        stopped_at = time.monotonic()
        publish_s = publish_burst(broker.url, tokens, MESSAGES_EACH)
        # Held by the broker for the bridges' sessions while they wait for the database.
        time.sleep(max(0.0, 12 - (time.monotonic() - stopped_at)))  # a $SYS round or two
        during = read(broker)
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped_at)))
        cluster.start()
        drain_s = _wait_stored(bridges, timeout=120)
        after = read(broker)
        stats = _assert_each_message_once(bridges)
        stored = _count(url)
    finally:
        for bridge in bridges:
            bridge.close()
        cluster.destroy()
    assert stored == (TOTAL_POINTS, TOTAL_POINTS)
    assert sum(s["retried"] for s in stats) > 0  # the outage was seen, nothing acknowledged
    assert during.figures.queued_messages is not None
    assert during.figures.queued_messages >= TOTAL_MESSAGES * 0.9
    assert {b["state"] for b in during.bridges.values()} == {"database_unavailable"}
    assert after.figures.dropped_total == 0
    print(
        f"\npublished in {publish_s:.1f} s during the outage; {TOTAL_POINTS:,} points stored "
        f"{drain_s:.1f} s after PostgreSQL came back; per bridge: {stats}"
    )
