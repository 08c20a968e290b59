"""MQTT bridge: telemetry published to ``zenith/<node>/telemetry`` goes through the same ingest
service as ``POST /api/v1/telemetry`` and ``POST /api/v2/write``.

Payloads are the JSON body of ``/api/v1/telemetry`` (when they start with ``{``) or InfluxDB
line protocol (nanosecond timestamps, a missing timestamp is "now"). The ``<node>`` in the topic
names the spacecraft: a JSON sample without ``node`` or a line without a ``node`` tag belongs to
it, and a sample naming another node makes the whole message invalid.

Delivery contract (QoS 1 on a persistent MQTT v5 session, manual acknowledgement):

* A message is acknowledged only after ``telemetry_ingest`` returned, i.e. after its transaction
  committed. A crash in between means a redelivery, and replays write nothing new.
* Database unavailable (``OperationalError``/``InterfaceError``): no acknowledgement. MQTT only
  redelivers on a session resume, never on a live connection, so the bridge drops the connection,
  waits with backoff until the database answers again, and reconnects with the same session: the
  broker then sends every unacknowledged message again.
* Invalid payloads (any ``TelemetryError``) are acknowledged anyway, so a poison message is not
  redelivered forever, and reported on ``<topic>/errors`` (QoS 0) as the HTTP API reports them:
  ``{"error", "detail", "fields"}``. Unexpected exceptions are treated the same way (logged with
  the traceback, reported as ``internal_error``): one message must not stall the session.

paho runs every callback in the bridge's own network thread, so all database work happens in
that thread, on that thread's Django connection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import orjson
import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone
from paho.mqtt.client import (
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTErrorCode,
    MQTTMessage,
    MQTTProtocolVersion,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import Counter

from telemetry import services
from telemetry.exceptions import TelemetryError
from telemetry.ingest import Samples
from telemetry.mqtt.payloads import node_level, parse_payload

log = logging.getLogger(__name__)

DEFAULT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_TOPIC = "zenith/+/telemetry"
ERRORS_SUFFIX = "/errors"
OUTCOMES = ("written", "duplicate", "invalid", "retry", "error")

MESSAGES = Counter(
    "zenith_mqtt_messages_total",
    "MQTT telemetry messages by outcome (retry: not acknowledged, the broker redelivers)",
    ["outcome"],
)
for _outcome in OUTCOMES:
    MESSAGES.labels(outcome=_outcome)

# The PostgreSQL store COPYs through psycopg's own cursor, whose errors Django does not wrap.
DatabaseUnavailable = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class Ingest(Protocol):
    def __call__(self, *, samples: Samples) -> services.IngestResult: ...


# --- broker address --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """``mqtt://[user[:password]@]host[:port]``; ``mqtts://`` for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"broker URL {url!r}: bad port") from None
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r}: no host")
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


# --- the bridge ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BridgeStats:
    received: int = 0  # deliveries, redeliveries included
    redelivered: int = 0  # of which the broker flagged as DUP
    written: int = 0  # points stored
    duplicates: int = 0  # points already stored (replays)
    stored: int = 0  # messages committed and acknowledged
    invalid: int = 0  # acknowledged and reported on <topic>/errors
    retried: int = 0  # not acknowledged: the database was unavailable
    errors: int = 0  # unexpected failures, acknowledged and reported


class Backoff:
    def __init__(self, first_s: float, max_s: float) -> None:
        self.first_s, self.max_s = first_s, max_s
        self._next = first_s

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.first_s


class MqttBridge:
    """Subscribe, ingest, acknowledge after commit. ``start()`` runs it in a thread, ``stop()``
    disconnects cleanly; a stopped bridge can be started again (same session).

    ``ingest`` is the write to call per message (default ``services.telemetry_ingest``); tests
    inject one that fails to exercise the unacknowledged-redelivery path.
    """

    def __init__(
        self,
        *,
        client_id: str,
        url: str | None = None,
        topic: str = DEFAULT_TOPIC,
        qos: int = 1,
        session_expiry_s: int = 86_400,
        keepalive_s: int = 30,
        backoff_s: tuple[float, float] = (1.0, 30.0),
        ingest: Ingest | None = None,
    ) -> None:
        if not client_id:
            raise ValueError("a persistent session needs a fixed client id")
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        self.broker = Broker.from_url(url or default_url())
        self.client_id = client_id
        self.topic = topic
        self.qos = qos
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self._node_level = node_level(topic)
        self._ingest: Ingest = ingest or services.telemetry_ingest
        self._connect_backoff = Backoff(*backoff_s)
        self._db_backoff = Backoff(*backoff_s)
        self._poll_s = 0.2
        self._lock = threading.Lock()
        self._stats = BridgeStats()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._db_unavailable = False
        self._thread: threading.Thread | None = None

    # -- control (any thread) --

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the bridge is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-bridge-{self.client_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the message in hand (ack included), disconnect, close the DB connection."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("MQTT bridge thread did not stop within %.0f s", timeout)

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and subscribed (messages published from now on are ours)."""
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> BridgeStats:
        with self._lock:
            return self._stats

    # -- the network thread --

    def _run(self) -> None:
        client = self._client()
        try:
            while not self._stopping.is_set():
                try:
                    self._serve(client)
                except Exception:
                    log.exception("MQTT bridge loop failed; reconnecting")
                    self._ready.clear()
                    self._stopping.wait(self._connect_backoff.next())
        finally:
            self._ready.clear()
            try:
                self._disconnect(client)
            except Exception:
                log.exception("MQTT disconnect failed")
            connection.close()  # this thread's connection; nobody else will close it

    def _client(self) -> Client:
        client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
            reconnect_on_failure=False,  # reconnects are ours, with our backoff
        )
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        client.suppress_exceptions = True  # our callbacks catch; this is the last guard
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry_s
        client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        return client

    def _serve(self, client: Client) -> None:
        connected = False  # reconnect() closes whatever socket a failed round left
        while not self._stopping.is_set():
            if not connected:
                try:
                    client.reconnect()
                    connected = True
                except OSError as exc:
                    delay = self._connect_backoff.next()
                    log.warning(
                        "MQTT broker %s unreachable (%s); retrying in %.1f s",
                        self.broker,
                        exc,
                        delay,
                    )
                    self._stopping.wait(delay)
                    continue
            try:
                rc = client.loop(timeout=self._poll_s)
            except Exception:
                log.exception("MQTT network loop failed; reconnecting")
                rc = MQTTErrorCode.MQTT_ERR_UNKNOWN
            if self._db_unavailable:
                self._disconnect(client)
                connected = False
                self._wait_for_database()
            elif rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                connected = False
                self._ready.clear()
                self._stopping.wait(self._connect_backoff.next())

    def _disconnect(self, client: Client) -> None:
        if client.socket() is None:
            return
        client.disconnect()
        deadline = time.monotonic() + 2.0
        while client.socket() is not None and time.monotonic() < deadline:
            client.loop(timeout=0.05)

    def _wait_for_database(self) -> None:
        while not self._stopping.is_set():
            delay = self._db_backoff.next()
            log.warning(
                "database unavailable: MQTT messages stay unacknowledged; retrying in %.1f s",
                delay,
            )
            if self._stopping.wait(delay):
                return
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except DatabaseUnavailable as exc:
                connection.close()
                log.warning("database still unavailable: %s", exc)
                continue
            self._db_unavailable = False
            return

    def _count(self, outcome: str, **changes: int) -> None:
        MESSAGES.labels(outcome=outcome).inc()
        with self._lock:
            self._stats = replace(
                self._stats, **{k: getattr(self._stats, k) + v for k, v in changes.items()}
            )

    # -- paho callbacks (network thread); none may raise into paho's loop --

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker %s refused the connection: %s", self.broker, reason)
            return
        self._connect_backoff.reset()
        log.info(
            "MQTT connected to %s as %s (session %s)",
            self.broker,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )
        client.subscribe(self.topic, qos=self.qos)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.error("MQTT subscription to %r refused: %s", self.topic, reasons)
            return
        log.info("MQTT subscribed to %r at QoS %d", self.topic, self.qos)
        self._ready.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._ready.clear()
        if self._stopping.is_set() or self._db_unavailable:
            log.info("MQTT disconnected from %s", self.broker)
        else:
            log.warning("MQTT connection to %s lost: %s", self.broker, reason)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        try:
            self._handle(client, message)
        except Exception:
            log.exception("MQTT message %d not handled", message.mid)

    def _handle(self, client: Client, message: MQTTMessage) -> None:
        with self._lock:
            self._stats = replace(
                self._stats,
                received=self._stats.received + 1,
                redelivered=self._stats.redelivered + int(message.dup),
            )
        if self._db_unavailable:
            # Read in the same batch as the failed one; the connection is about to drop and
            # the broker will send this one again.
            self._count("retry", retried=1)
            return
        try:
            close_old_connections()  # as a request would: drop a broken or expired connection
            topic = message.topic
            levels = topic.split("/")
            node = levels[self._node_level] if len(levels) > self._node_level else ""
            samples = parse_payload(
                message.payload,
                node=node,
                now=timezone.now(),
                max_points=settings.TELEMETRY_MAX_POINTS,
                max_bytes=settings.TELEMETRY_MAX_BODY_BYTES,
            )
            result = self._ingest(samples=samples)
        except TelemetryError as exc:
            log.warning("invalid telemetry on %s: %s", message.topic, exc.detail)
            self._report(client, message, exc.code, exc.detail, exc.fields)
            self._count("invalid", invalid=1)
        except DatabaseUnavailable as exc:
            connection.close()
            self._db_unavailable = True
            self._count("retry", retried=1)
            if message.qos == 0:
                log.error("database unavailable, QoS 0 message on %s lost: %s", message.topic, exc)
            else:
                log.warning(
                    "database unavailable, message %d not acknowledged: %s", message.mid, exc
                )
            return
        except Exception:
            log.exception("MQTT message %d dropped by an unexpected error", message.mid)
            self._report(
                client, message, "internal_error", "the bridge could not store this message", {}
            )
            self._count("error", errors=1)
        else:
            self._db_backoff.reset()
            self._count(
                "written" if result.written else "duplicate",
                stored=1,
                written=result.written,
                duplicates=result.duplicates,
            )
        client.ack(message.mid, message.qos)

    def _report(
        self, client: Client, message: MQTTMessage, code: str, detail: str, fields: dict[str, str]
    ) -> None:
        try:
            topic = message.topic + ERRORS_SUFFIX
        except UnicodeDecodeError:
            return  # no topic to answer on
        body = orjson.dumps({"error": code, "detail": detail, "fields": fields})
        client.publish(topic, body, qos=0)


def default_url() -> str:
    return str(getattr(settings, "MQTT_URL", None) or os.environ.get("MQTT_URL") or DEFAULT_URL)
