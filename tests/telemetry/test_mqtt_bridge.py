"""The MQTT bridge against the real local Mosquitto and the real database (no mocks).

Each test gets its own topic prefix and client id (the run id keeps parallel runs on the
shared broker apart), and wipes its persistent session afterwards. Rows must commit for the
bridge thread to see the spacecraft and for us to see its writes: ``transaction=True``.

"Database unavailable" is produced without stopping the shared PostgreSQL: the bridge is
given an ingest callable that fails first (raising ``OperationalError``, or killing the
bridge's own backend so Django raises it for real) and then delegates to the real service.
Everything after that is real: the bridge does not acknowledge, drops the connection,
Mosquitto redelivers the message on the resumed session, and the retry commits it once.
Broker outages use a private Mosquitto started for the test, so the shared one stays up.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection
from paho.mqtt.client import Client, MQTTMessage, MQTTProtocolVersion
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import REGISTRY

from telemetry import services
from telemetry.exceptions import InvalidTelemetry, TelemetryError
from telemetry.ingest import Samples
from telemetry.mqtt import Broker, MqttBridge, node_level, parse_payload
from telemetry.stores.schema import DIRTY_TABLE, RAW_TABLE, ROLLUP_1H, ROLLUP_1M
from tests.telemetry.conftest import sample_count

# The bridge writes from its own thread: rows must be committed to be seen either way.
committed = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("MQTT_TEST_URL", "mqtt://127.0.0.1:1883")
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
RUN = uuid.uuid4().hex[:10]  # isolation on the shared broker only; no test data is random
WAIT_S = 10.0
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
NS = int(NOW.timestamp()) * 1_000_000_000
_serial = itertools.count()


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def messages_total(outcome: str) -> float:
    value = REGISTRY.get_sample_value("zenith_mqtt_messages_total", {"outcome": outcome})
    return value or 0.0


def json_batch(n: int, *, node: str | None = None, start: datetime = NOW) -> bytes:
    samples: list[dict[str, Any]] = []
    for i in range(n):
        sample: dict[str, Any] = {
            "ts": iso(start + timedelta(seconds=i)),
            "metrics": {"gpu_temp_c": 60.0 + i, "battery_soc": 0.9 - i / 100},
        }
        if node is not None:
            sample["node"] = node
        samples.append(sample)
    return orjson.dumps({"samples": samples})


# --- broker plumbing ------------------------------------------------------------------------


def _v5_client(client_id: str = "") -> Client:
    return Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )


class Publisher:
    """A plain device-side client: publishes at QoS 1 and collects what it subscribed to."""

    def __init__(self, url: str = BROKER_URL) -> None:
        broker = Broker.from_url(url)
        self.client = _v5_client(f"zenith-test-pub-{RUN}-{next(_serial)}")
        self.received: queue.Queue[MQTTMessage] = queue.Queue()
        self._subscribed = threading.Event()
        self.client.on_message = lambda client, userdata, message: self.received.put(message)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), f"broker did not take the message on {topic}"

    def subscribe(self, topic_filter: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos=1)
        assert self._subscribed.wait(WAIT_S), f"no SUBACK for {topic_filter}"

    def next_message(self) -> MQTTMessage:
        try:
            return self.received.get(timeout=WAIT_S)
        except queue.Empty:
            pytest.fail("no message arrived on the subscribed topics")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def purge_session(client_id: str) -> None:
    """Connect once with a clean start and no expiry: the broker forgets the session."""
    broker = Broker.from_url(BROKER_URL)
    client = _v5_client(client_id)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    client.loop_start()
    connected.wait(WAIT_S)
    client.disconnect()
    client.loop_stop()


class PrivateBroker:
    """A Mosquitto of our own (no persistence), to stop and start under a running bridge."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateBroker:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return True

        wait_for(listening, "the private broker to listen")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_S)


@dataclass(frozen=True)
class Scope:
    prefix: str
    client_id: str

    @property
    def topic_filter(self) -> str:
        return f"{self.prefix}/+/telemetry"

    def topic(self, node: str) -> str:
        return f"{self.prefix}/{node}/telemetry"


@pytest.fixture(scope="module")
def broker() -> Broker:
    parsed = Broker.from_url(BROKER_URL)
    try:
        socket.create_connection((parsed.host, parsed.port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"these tests need an MQTT broker at {BROKER_URL} (MQTT_TEST_URL): {exc}")
    return parsed


@pytest.fixture
def scope(broker: Broker) -> Iterator[Scope]:
    n = next(_serial)
    scope = Scope(prefix=f"zenith-test/{RUN}/{n}", client_id=f"zenith-test-{RUN}-{n}")
    yield scope
    purge_session(scope.client_id)


@pytest.fixture
def publisher(broker: Broker) -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


def _empty_sample_tables() -> None:
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in (RAW_TABLE, DIRTY_TABLE, ROLLUP_1M, ROLLUP_1H):
            if table in existing:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (module constants)


@pytest.fixture
def no_samples(transactional_db: None) -> Iterator[None]:
    """Empty before and after: the flush between transactional tests only truncates tables
    with a model, so committed samples (and rollups) would leak from test to test."""
    _empty_sample_tables()
    yield
    _empty_sample_tables()


@pytest.fixture
def start_bridge(
    no_samples: None, nodes: list[Any], scope: Scope
) -> Iterator[Callable[..., MqttBridge]]:
    """``start_bridge(ingest=...)``: a connected, subscribed bridge on this test's session."""
    started: list[MqttBridge] = []

    def start(**kwargs: Any) -> MqttBridge:
        bridge = MqttBridge(
            url=BROKER_URL,
            topic=scope.topic_filter,
            client_id=scope.client_id,
            session_expiry_s=120,
            backoff_s=(0.05, 0.4),
            **kwargs,
        )
        bridge.start()
        started.append(bridge)
        assert bridge.wait_ready(WAIT_S), "bridge did not connect and subscribe"
        return bridge

    yield start
    for bridge in started:
        bridge.stop()


class FailingIngest:
    """The real ingest service, with the database "down" for ``failures`` calls after the
    first ``after`` ones."""

    def __init__(
        self, failures: int, *, after: int = 0, error: type[Exception] = OperationalError
    ) -> None:
        self.failures, self.after, self.error = failures, after, error
        self.calls = 0

    def __call__(self, *, samples: Samples) -> services.IngestResult:
        self.calls += 1
        if self.after < self.calls <= self.after + self.failures:
            raise self.error("connection to server at 127.0.0.1, port 5432 failed")
        return services.telemetry_ingest(samples=samples)


# --- over the broker ------------------------------------------------------------------------


@committed
def test_json_message_stored_once_and_replay_writes_nothing(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    bridge = start_bridge()
    body = json_batch(3)  # samples without "node": the topic's
    publisher.publish(scope.topic("leo-001"), body)
    wait_for(lambda: bridge.stats.stored == 1, "the first message to commit")
    assert sample_count("leo-001") == 6
    publisher.publish(scope.topic("leo-001"), body)
    wait_for(lambda: bridge.stats.stored == 2, "the replay")
    stats = bridge.stats
    assert (stats.written, stats.duplicates, stats.invalid, stats.retried) == (6, 6, 0, 0)
    assert sample_count() == 6


@committed
def test_line_protocol_message(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    bridge = start_bridge()
    body = "\n".join(
        [
            f"node_health,node=leo-002 gpu_temp_c=61i,battery_soc=0.75 {NS}",
            f"node_health battery_soc=0.74 {NS + 1_000_000_000}",  # no node tag: the topic's
            "# a comment line",
            "cpu,host=payload-a usage_user=12.5",  # no timestamp: now
        ]
    )
    before = datetime.now(UTC)
    publisher.publish(scope.topic("leo-002"), body.encode())
    wait_for(lambda: bridge.stats.stored == 1, "the line protocol message to commit")
    assert bridge.stats.written == 4
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.name, s.time FROM telemetry_sample s "
            "JOIN fleet_spacecraft c ON c.id = s.node_id "
            "JOIN telemetry_metric m ON m.id = s.metric_id "
            "WHERE c.slug = 'leo-002' ORDER BY s.time, m.name"
        )
        rows = cursor.fetchall()
    assert [name for name, _ in rows] == [
        "battery_soc",
        "gpu_temp_c",
        "battery_soc",
        "cpu_usage_user",
    ]
    assert rows[0][1] == NOW
    assert rows[3][1] >= before - timedelta(seconds=1)


@committed
def test_invalid_messages_reported_acknowledged_and_not_redelivered(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    publisher.subscribe(f"{scope.prefix}/+/telemetry/errors")
    invalid_before = messages_total("invalid")
    bridge = start_bridge()

    publisher.publish(scope.topic("leo-001"), json_batch(2, node="leo-002"))
    report = publisher.next_message()
    assert report.topic == scope.topic("leo-001") + "/errors"
    assert orjson.loads(report.payload) == {
        "error": "invalid_telemetry",
        "detail": "samples[0].node is 'leo-002' but the topic is for 'leo-001'",
        "fields": {
            "samples[0].node": "is 'leo-002' but the topic is for 'leo-001'",
            "samples[1].node": "is 'leo-002' but the topic is for 'leo-001'",
        },
    }

    publisher.publish(scope.topic("leo-003"), b'node_health gpu_temp_c="hot"')
    report = publisher.next_message()
    assert report.topic == scope.topic("leo-003") + "/errors"
    body = orjson.loads(report.payload)
    assert body["error"] == "invalid_telemetry" and "line 1.gpu_temp_c" in body["fields"]

    publisher.publish(scope.topic("ghost-9"), json_batch(1))
    body = orjson.loads(publisher.next_message().payload)
    assert body["error"] == "unknown_node" and "samples[0].node" in body["fields"]

    wait_for(lambda: bridge.stats.invalid == 3, "three invalid messages")
    assert messages_total("invalid") - invalid_before == 3
    assert sample_count() == 0

    # Acknowledged means gone from the session: a restarted bridge gets only what is new.
    bridge.stop()
    restarted = start_bridge()
    publisher.publish(scope.topic("leo-001"), json_batch(1))
    wait_for(lambda: restarted.stats.stored == 1, "the message after the restart")
    assert restarted.stats.received == 1 and restarted.stats.invalid == 0
    assert sample_count() == 2


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
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    db = connection.settings_dict
    admin_dsn = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER']} dbname={db['NAME']}"
        + (f" password={db['PASSWORD']}" if db["PASSWORD"] else "")
    )
    calls: list[type[BaseException] | None] = []

    def ingest(*, samples: Samples) -> services.IngestResult:
        if not calls:
            with connection.cursor() as cursor:  # called in the bridge thread: its connection
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        try:
            result = services.telemetry_ingest(samples=samples)
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
    if MOSQUITTO is None:
        pytest.skip("needs the mosquitto binary")
    broker = PrivateBroker(tmp_path).start()
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
        publisher = Publisher(broker.url)
        try:
            publisher.publish(scope.topic("leo-001"), json_batch(2))
            wait_for(lambda: bridge.stats.stored == 1, "the message after the restart")
        finally:
            publisher.close()
        assert sample_count("leo-001") == 4
    finally:
        bridge.stop()
        broker.stop()


class Command:
    """``manage.py ingest_mqtt`` in a subprocess, its stderr collected line by line."""

    def __init__(self, scope: Scope, database_url: str) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "INFO"}
        command = [sys.executable, "manage.py", "ingest_mqtt", "--url", BROKER_URL]
        command += ["--topic", scope.topic_filter, "--client-id", scope.client_id]
        command += ["--session-expiry", "120", "--every", "1"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        stderr = self.process.stderr
        assert stderr is not None
        self.reader = threading.Thread(target=lambda: [self.lines.put(x) for x in stderr])
        self.reader.start()

    def wait_line(self, text: str) -> None:
        deadline = time.monotonic() + 90  # covers Django start-up on a loaded machine
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=0.1))
            except queue.Empty:
                if time.monotonic() > deadline or not self.reader.is_alive():
                    pytest.fail(f"no {text!r} from ingest_mqtt:\n{''.join(self.seen)}")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)


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


# --- payload rules, no broker ---------------------------------------------------------------


def parse(payload: bytes, node: str = "leo-001") -> Samples:
    return parse_payload(payload, node=node, now=NOW, max_points=1000, max_bytes=4096)


def test_json_samples_take_the_topic_node_and_must_match_it() -> None:
    mixed = orjson.loads(json_batch(2))
    mixed["samples"][1]["node"] = "leo-001"
    assert parse(orjson.dumps(mixed)).nodes == ["leo-001", "leo-001"]
    mixed["samples"][0]["node"] = "leo-002"
    with pytest.raises(InvalidTelemetry) as refused:
        parse(orjson.dumps(mixed))
    assert refused.value.fields == {
        "samples[0].node": "is 'leo-002' but the topic is for 'leo-001'"
    }


def test_lines_take_the_topic_node_and_keep_their_numbers() -> None:
    body = f"\n# c\nnode_health gpu_temp_c=1 {NS}\nnode_health,node=leo-001 gpu_temp_c=2 {NS + 1}"
    samples = parse(body.encode())
    assert samples.nodes == ["leo-001", "leo-001"] and samples.where == ["line 3", "line 4"]
    with pytest.raises(InvalidTelemetry) as refused:
        parse(f'\nnode_health gpu_temp_c=1\nnode_health up="yes" {NS}'.encode())
    assert refused.value.fields == {"line 3.up": "must be a number or boolean, not a string"}
    with pytest.raises(InvalidTelemetry) as foreign:
        parse(b"node_health,node=leo-009 gpu_temp_c=1")
    assert foreign.value.fields == {"line 1.node": "is 'leo-009' but the topic is for 'leo-001'"}


@pytest.mark.parametrize(
    ("payload", "node", "code"),
    [
        (b"{not json", "leo-001", "invalid_telemetry"),
        (b"x" * 5000, "leo-001", "body_too_large"),
        (b"node_health gpu_temp_c=1", "", "invalid_telemetry"),
        (b"", "leo-001", "invalid_telemetry"),
    ],
)
def test_refused_payloads(payload: bytes, node: str, code: str) -> None:
    with pytest.raises(TelemetryError) as refused:
        parse(payload, node=node)
    assert refused.value.code == code


def test_topic_filters_and_broker_urls() -> None:
    assert node_level("zenith/+/telemetry") == 1
    assert node_level("$share/ingest/zenith/+/telemetry") == 1
    for bad in ("zenith/#", "zenith/+/+/telemetry", "zenith/leo-001/telemetry"):
        with pytest.raises(ValueError, match="exactly one"):
            node_level(bad)
    assert Broker.from_url("mqtt://127.0.0.1") == Broker("127.0.0.1", 1883)
    assert Broker.from_url("mqtts://u:p%40ss@broker.example:8884") == Broker(
        "broker.example", 8884, tls=True, username="u", password="p@ss"
    )
    for bad in ("http://x", "mqtt://", "mqtt://host:port"):
        with pytest.raises(ValueError, match="broker URL"):
            Broker.from_url(bad)
