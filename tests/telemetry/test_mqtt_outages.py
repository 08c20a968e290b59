"""The MQTT bridge through outages, for real: the database unavailable (failing ingest, its
backend killed, the ``ingest_mqtt`` command with nothing listening), the broker restarted,
and the command stopped with SIGTERM.

Shared plumbing and fixtures are in ``tests/telemetry/mqtt_support.py``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection

from ops.fleet import services as fleet
from telemetry import services
from telemetry.ingest import Samples
from telemetry.mqtt import MqttBridge
from telemetry.mqtt.credentials import gateway_credentials
from tests.telemetry.conftest import sample_count
from tests.telemetry.mqtt_private import ZenithBroker
from tests.telemetry.mqtt_support import (
    MOSQUITTO,
    NOW,
    WAIT_S,
    Command,
    FailingIngest,
    Publisher,
    Scope,
    committed,
    json_batch,
    messages_total,
    wait_for,
)


@committed
@pytest.mark.parametrize(
    # the store COPYs through psycopg's own cursor, whose errors Django does not wrap
    "error",
    [OperationalError, InterfaceError, psycopg.OperationalError],
    ids=["django-operational", "django-interface", "psycopg-operational"],
)
def test_not_acknowledged_while_database_unavailable_then_stored_once(
    start_bridge: Callable[..., MqttBridge],
    publisher: Publisher,
    scope: Scope,
    error: type[Exception],
) -> None:
    ingest = FailingIngest(failures=2, error=error)
    retry_before = messages_total("retry")
    bridge = start_bridge(ingest=ingest)
    publisher.publish(scope.topic("leo-001"), json_batch(4))
    wait_for(lambda: bridge.stats.stored == 1, "the message to commit after the outage")
    stats = bridge.stats
    # One delivery, two redeliveries by Mosquitto (DUP set), the last one committed once.
    assert ingest.calls == 3
    assert (stats.received, stats.redelivered, stats.retried) == (3, 2, 2)
    assert (stats.written, stats.duplicates) == (8, 0)
    assert messages_total("retry") - retry_before == 2
    assert sample_count("leo-001") == 8

    # Acknowledged after the commit: nothing more comes back for it.
    publisher.publish(scope.topic("leo-002"), json_batch(1))
    wait_for(lambda: bridge.stats.stored == 2, "a later message")
    assert bridge.stats.received == 4 and ingest.calls == 4
    assert sample_count() == 10


@committed
def test_outage_in_the_middle_of_a_burst_stores_every_message_once(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    bridge = start_bridge(ingest=FailingIngest(failures=1, after=1))
    for i in range(6):
        publisher.publish(scope.topic("leo-002"), json_batch(1, start=NOW + timedelta(minutes=i)))
        if i == 0:
            # Written alone, before the outage; the five behind it may share one batch.
            wait_for(lambda: bridge.stats.stored == 1, "the first message to commit")
    wait_for(lambda: bridge.stats.stored == 6, "all six messages to commit")
    # Messages read behind the failed one are not acknowledged either and come back too;
    # the one acknowledged before the outage does not.
    stats = bridge.stats
    assert stats.retried >= 1 and stats.received == 6 + stats.retried
    assert (stats.written, stats.duplicates) == (12, 0)
    assert sample_count("leo-002") == 12


@committed
def test_unacknowledged_message_survives_a_bridge_restart(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    down = FailingIngest(failures=1_000_000)
    first = start_bridge(ingest=down)
    publisher.publish(scope.topic("leo-003"), json_batch(2))
    wait_for(lambda: down.calls >= 1, "the first attempt")
    first.stop()
    assert first.stats.stored == 0 and sample_count() == 0

    second = start_bridge()  # same client id: the broker resumes the session
    wait_for(lambda: second.stats.stored == 1, "the redelivery to commit")
    assert second.stats.redelivered == 1 and second.stats.written == 4
    assert sample_count("leo-003") == 4


@committed
def test_database_connection_killed_under_the_bridge(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    """As a PostgreSQL restart looks to the bridge: its backend dies between two queries."""
    assert connection.vendor == "postgresql", "the suite runs on PostgreSQL (DATABASE_URL)"
    db = connection.settings_dict
    admin_dsn = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER']} dbname={db['NAME']}"
        + (f" password={db['PASSWORD']}" if db["PASSWORD"] else "")
    )
    calls: list[type[BaseException] | None] = []

    def ingest(*, batches: list[Samples]) -> list[services.IngestResult | Exception]:
        if not calls:
            with connection.cursor() as cursor:  # called in the bridge thread: its connection
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        try:
            result = services.telemetry_ingest_many(batches=batches)
        except BaseException as exc:
            calls.append(type(exc))
            raise
        calls.append(None)
        return result

    bridge = start_bridge(ingest=ingest)
    publisher.publish(scope.topic("leo-001"), json_batch(3))
    wait_for(lambda: bridge.stats.stored == 1, "the write after the reconnect")
    assert calls[-1] is None and len(calls) == 2, calls
    assert calls == [OperationalError, None] and bridge.stats.retried == 1
    assert bridge.stats.redelivered == 1 and sample_count("leo-001") == 6


@committed
def test_bridge_reconnects_and_resubscribes_after_the_broker_restarts(
    no_samples: None, nodes: list[Any], scope: Scope, tmp_path: Path
) -> None:
    assert MOSQUITTO is not None, "no mosquitto binary: scripts/ensure-services.sh installs it"
    account = fleet.service_account_get_or_create(name="gw")
    gateway = gateway_credentials(
        fleet.token_create(account=account, name="gw", scopes=["ingest"]).token
    )
    broker = ZenithBroker(tmp_path)  # Zenith's configuration: persistence, logins, ACLs
    broker.write_auth(scope.topic_filter)
    broker.start()
    bridge = MqttBridge(
        url=broker.url,
        topic=scope.topic_filter,
        client_id=scope.client_id,
        backoff_s=(0.05, 0.2),
    )
    try:
        bridge.start()
        assert bridge.wait_ready(WAIT_S)
        broker.stop()
        wait_for(lambda: not bridge.ready, "the bridge to notice the broker is gone")
        time.sleep(0.3)  # a few refused reconnects
        broker.start()
        assert bridge.wait_ready(WAIT_S), "no reconnect after the broker came back"
        publisher = Publisher(broker.url, gateway.username, gateway.password)
        try:
            publisher.publish(scope.topic("leo-001"), json_batch(2))
            wait_for(lambda: bridge.stats.stored == 1, "the message after the restart")
        finally:
            publisher.close()
        assert sample_count("leo-001") == 4
    finally:
        bridge.stop()
        broker.stop()


@committed
@pytest.mark.slow
def test_command_keeps_messages_through_a_database_outage_and_stops_on_sigterm(
    no_samples: None, nodes: list[Any], publisher: Publisher, scope: Scope
) -> None:
    """For real, end to end: the first run cannot reach PostgreSQL at all (nothing listens
    on its port), so it must not acknowledge; the next run, same client id, gets the
    message from the resumed session and stores it."""
    db = connection.settings_dict  # the test database: rows committed here are visible
    user = db["USER"] + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = int(probe.getsockname()[1])
    no_database = f"postgres://{user}@127.0.0.1:{closed_port}/{db['NAME']}"
    database = f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

    down = Command(scope, no_database)
    try:
        down.wait_line("MQTT subscribed")
        publisher.publish(scope.topic("leo-002"), json_batch(2))
        down.wait_line("message 1 not acknowledged")
        down.wait_line("retried=1")
        assert down.terminate() == 0
        down.wait_line("(stopped)")
    finally:
        down.close()
    assert sample_count() == 0

    up = Command(scope, database)
    try:
        up.wait_line("(session resumed)")
        up.wait_line("received=1 stored=1 written=4")
        assert sample_count("leo-002") == 4
        assert up.terminate() == 0
        up.wait_line("mqtt: received=1 stored=1 written=4 duplicates=0 invalid=0 retried=0")
        up.wait_line("MQTT disconnected")
    finally:
        up.close()
