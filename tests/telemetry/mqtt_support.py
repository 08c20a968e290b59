"""Shared plumbing for the MQTT bridge tests, against the real local Mosquitto and the real
database (no mocks).

Each test gets its own topic prefix and client id (the run id keeps parallel runs on the
shared broker apart), and wipes its persistent session afterwards. Rows must commit for the
bridge thread to see the spacecraft and for us to see its writes: ``transaction=True``.

"Database unavailable" is produced without stopping the shared PostgreSQL: the bridge is
given an ingest callable that fails first (raising ``OperationalError``, or killing the
bridge's own backend so Django raises it for real) and then delegates to the real service.
Everything after that is real: the bridge does not acknowledge, drops the connection,
Mosquitto redelivers the message on the resumed session, and the retry commits it once.
Broker outages use a private Mosquitto started for the test with Zenith's configuration
(``mqtt_private.ZenithBroker``), so the shared one stays up.

The fixtures defined here (``broker``, ``scope``, ``publisher``, ``no_samples``,
``start_bridge``) are made available to the test modules by ``tests/telemetry/conftest.py``.
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

import orjson
import pytest
from django.db import OperationalError, connection
from paho.mqtt.client import Client, MQTTMessage, MQTTProtocolVersion
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import REGISTRY

from telemetry import services
from telemetry.ingest import Samples
from telemetry.mqtt import Broker, MqttBridge
from telemetry.mqtt.credentials import status_topic
from telemetry.stores.schema import DIRTY_TABLE, RAW_TABLE, ROLLUP_1H, ROLLUP_1M

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

    def __init__(
        self, url: str = BROKER_URL, username: str | None = None, password: str | None = None
    ) -> None:
        broker = Broker.from_url(url)
        self.client = _v5_client(f"zenith-test-pub-{RUN}-{next(_serial)}")
        if username is not None:
            self.client.username_pw_set(username, password)
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


def purge_session(client_id: str, status_topic: str | None = None) -> None:
    """Connect once with a clean start and no expiry: the broker forgets the session (and
    the bridge's retained status, when given, is cleared)."""
    broker = Broker.from_url(BROKER_URL)
    client = _v5_client(client_id)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    client.loop_start()
    connected.wait(WAIT_S)
    if status_topic is not None:
        client.publish(status_topic, b"", qos=1, retain=True).wait_for_publish(WAIT_S)
    client.disconnect()
    client.loop_stop()


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
    purge_session(scope.client_id, status_topic(scope.topic_filter, scope.client_id))


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
    """The real (batched) ingest service, with the database "down" for ``failures`` calls
    after the first ``after`` ones."""

    def __init__(
        self, failures: int, *, after: int = 0, error: type[Exception] = OperationalError
    ) -> None:
        self.failures, self.after, self.error = failures, after, error
        self.calls = 0

    def __call__(self, *, batches: list[Samples]) -> list[services.IngestResult | Exception]:
        self.calls += 1
        if self.after < self.calls <= self.after + self.failures:
            raise self.error("connection to server at 127.0.0.1, port 5432 failed")
        return services.telemetry_ingest_many(batches=batches)


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
