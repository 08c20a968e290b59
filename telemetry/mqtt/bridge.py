"""MQTT bridge: telemetry published to ``zenith/<node>/telemetry`` goes through the same ingest
as ``POST /api/v1/telemetry`` and ``POST /api/v2/write``.

Payloads (JSON or line protocol) and how the topic names the node: ``payloads``. Who may
publish to a node's topic is the broker's business: Zenith writes its password and ACL files
from the API tokens (``credentials``), so a topic carries the authority of the token behind it.

Delivery contract (QoS 1 on a persistent MQTT v5 session, manual acknowledgement):

* Messages are written in batches: the bridge reads what the broker has sent (up to
  ``batch_messages`` messages or ``batch_bytes`` of payload, never waiting for more), writes
  them in one transaction (``services.telemetry_ingest_many``: each message all or nothing,
  one commit for all), and acknowledges each message, in the order received, only after that
  commit. A crash in between means a redelivery, and replays write nothing new. Under a
  trickle a batch is one message; under a burst one commit carries hundreds.
* Database unavailable (``OperationalError``/``InterfaceError``): nothing of the batch is
  acknowledged. MQTT only redelivers on a session resume, never on a live connection, so the
  bridge drops the connection, waits with backoff until the database answers again, and
  reconnects with the same session: the broker then sends every unacknowledged message again.
* Invalid payloads (any ``TelemetryError``) are acknowledged anyway, so a poison message is not
  redelivered forever, and reported on ``<topic>/errors`` (QoS 0) as the HTTP API reports them:
  ``{"error", "detail", "fields"}``. A message that fails on its own for another reason is
  treated the same way (logged with the traceback, reported as ``internal_error``): one message
  must not stall the session, nor fail the others of its batch.
* Several bridges share the load with a shared subscription (``$share/<group>/...``, the
  default topic): the broker gives each message to one of them. Each keeps a fixed client id:
  Mosquitto also assigns messages to a member that is away, and they wait in its session.

The bridge also watches the broker's ``$SYS`` figures (queue depth, dropped messages; see
``monitor``) and publishes its own status, retained, on ``<prefix>/bridges/<client id>/status``
(a will message marks it ``lost`` if the connection dies).

paho runs every callback in the bridge's own network thread, so all database work happens in
that thread, on its own Django connection.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import close_old_connections, connection
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

from telemetry import services
from telemetry.exceptions import TelemetryError
from telemetry.mqtt.broker import Backoff, Broker, default_url, disconnect_gracefully, login_for
from telemetry.mqtt.credentials import status_topic
from telemetry.mqtt.monitor import (
    SYS_TOPICS,
    BrokerFigures,
    SysWatch,
    bridge_status,
    reported_drops,
)
from telemetry.mqtt.payloads import node_level
from telemetry.mqtt.writer import (
    BATCH_MESSAGES,
    COMMIT_SECONDS,
    MESSAGES,
    BatchWriter,
    DatabaseUnavailable,
    IngestMany,
    database_answers,
    log_unavailable,
)

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "$share/zenith-ingest/zenith/+/telemetry"
ERRORS_SUFFIX = "/errors"
STATUS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class BridgeStats:
    received: int = 0  # deliveries, redeliveries included
    redelivered: int = 0  # of which the broker flagged as DUP
    written: int = 0  # points stored
    duplicates: int = 0  # points already stored (replays)
    stored: int = 0  # messages committed and acknowledged
    invalid: int = 0  # acknowledged and reported on <topic>/errors
    retried: int = 0  # not acknowledged: the database was unavailable
    errors: int = 0  # failed alone for another reason, acknowledged and reported
    batches: int = 0  # transactions committed


class MqttBridge:
    """Subscribe, ingest in batches, acknowledge after commit. ``start()`` runs it in a thread,
    ``stop()`` disconnects cleanly; a stopped bridge can be started again (same session).

    ``ingest`` is the write called per batch (default ``services.telemetry_ingest_many``);
    tests inject one that fails to exercise the unacknowledged-redelivery path.
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
        backoff_s: tuple[float, float] = (1.0, 10.0),
        ingest: IngestMany | None = None,
        batch_messages: int | None = None,
        batch_bytes: int | None = None,
        publish_status: bool = True,
    ) -> None:
        if not client_id:
            raise ValueError("a persistent session needs a fixed client id")
        if any(char in client_id for char in "/+#"):
            raise ValueError(f"client id {client_id!r}: no '/', '+' or '#' (it names a topic)")
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        self.broker = Broker.from_url(url or default_url())
        self.client_id = client_id
        self.topic = topic
        self.qos = qos
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self.batch_messages = batch_messages or settings.MQTT_BATCH_MESSAGES
        self.batch_bytes = batch_bytes or settings.MQTT_BATCH_BYTES
        self.status_topic = status_topic(topic, client_id) if publish_status else None
        self.sys = SysWatch()
        self._writer = BatchWriter(node_level=node_level(topic), ingest=ingest)
        self._connect_backoff = Backoff(*backoff_s)
        self._db_backoff = Backoff(*backoff_s)
        self._poll_s = 0.2
        self._lock = threading.Lock()
        self._stats = BridgeStats()
        self._pending: list[MQTTMessage] = []
        self._pending_bytes = 0
        self._grew = False
        self._last_commit_at: datetime | None = None
        self._status_due = 0.0
        self._subscription_mid: int | None = None
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
        """Finish the batch in hand (acks included), disconnect, close the DB connection."""
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

    def broker_figures(self) -> BrokerFigures | None:
        """The broker's latest ``$SYS`` figures (None until connected)."""
        return self.sys.figures if self.ready else None

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
                self._publish_status(client, "stopped")
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
        username, password = login_for(self.broker)
        client.username_pw_set(username, password)
        if self.broker.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.message_callback_add("$SYS/#", self._on_sys)
        if self.status_topic is not None:
            client.message_callback_add(self.status_topic, self._on_own_status)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry_s
        # Messages the broker may send before our acknowledgements: a whole batch and the
        # start of the next. Without it Mosquitto sends 20 at a time (max_inflight_messages).
        properties.ReceiveMaximum = min(65_535, 2 * self.batch_messages)
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
                if self._pending:
                    self._drop_pending("reconnecting")
                if self.status_topic is not None:
                    # Current figures in the will too: the next start's drop baseline.
                    client.will_set(self.status_topic, self._status_body("lost"), 1, True)
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
                # Take what is already readable, up to a batch, then write it: no waiting
                # for more, so a lone message is written at once and a burst in big batches.
                while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._grew and not self._full():
                    self._grew = False
                    rc = client.loop_read()
            except Exception:
                log.exception("MQTT network loop failed; reconnecting")
                rc = MQTTErrorCode.MQTT_ERR_UNKNOWN
            if self._pending and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._flush(client)
            if self._db_unavailable:
                self._publish_status(client, "database_unavailable")
                self._disconnect(client)
                connected = False
                self._wait_for_database()
            elif rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                connected = False
                self._ready.clear()
                self._stopping.wait(self._connect_backoff.next())
            elif time.monotonic() >= self._status_due and self.ready:
                self._publish_status(client, "online")

    def _full(self) -> bool:
        return len(self._pending) >= self.batch_messages or self._pending_bytes >= self.batch_bytes

    def _drop_pending(self, why: str) -> None:
        """Forget messages read but not written: unacknowledged, the broker sends them again."""
        log.info("%s: %d messages read, not acknowledged, will come again", why, len(self._pending))
        self._pending, self._pending_bytes = [], 0

    def _disconnect(self, client: Client) -> None:
        disconnect_gracefully(client)

    def _wait_for_database(self) -> None:
        while not self._stopping.is_set():
            delay = self._db_backoff.next()
            log.warning(
                "database unavailable: MQTT messages stay unacknowledged; retrying in %.1f s",
                delay,
            )
            if self._stopping.wait(delay):
                return
            if database_answers():
                self._db_unavailable = False
                return

    def _count(self, outcome: str, n: int = 1, **changes: int) -> None:
        MESSAGES.labels(outcome=outcome).inc(n)
        self._add(**changes)

    def _add(self, **changes: int) -> None:
        with self._lock:
            self._stats = replace(
                self._stats, **{k: getattr(self._stats, k) + v for k, v in changes.items()}
            )

    # -- status --

    def _status_body(self, state: str) -> bytes:
        return bridge_status(
            state=state,
            client_id=self.client_id,
            counts=asdict(self.stats),
            pending=len(self._pending),
            last_commit_at=self._last_commit_at,
            watch=self.sys,
        )

    def _publish_status(self, client: Client, state: str) -> None:
        self._status_due = time.monotonic() + STATUS_EVERY_S
        if self.status_topic is None or client.socket() is None:
            return
        client.publish(self.status_topic, self._status_body(state), qos=0, retain=True)

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
        _, self._subscription_mid = client.subscribe(self.topic, qos=self.qos)
        # QoS 0 and separate: the figures are only read while connected, and a broker
        # whose ACL refuses them must not keep the bridge from ingesting. Our own retained
        # status comes first: the dropped count we reported last, before the new figures.
        watched = [(topic, 0) for topic in SYS_TOPICS]
        if self.status_topic is not None:
            watched.insert(0, (self.status_topic, 0))
        client.subscribe(watched)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscription_mid:
            if any(reason.is_failure for reason in reasons):
                log.warning("MQTT broker refused the $SYS figures: %s", reasons)
            return
        if any(reason.is_failure for reason in reasons):
            log.error("MQTT subscription to %r refused: %s", self.topic, reasons)
            return
        log.info("MQTT subscribed to %r at QoS %d", self.topic, self.qos)
        self._ready.set()
        self._publish_status(client, "online")

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._ready.clear()
        if self._pending:
            # Never acknowledged on a later connection: their packet ids belonged to this one.
            self._drop_pending("the connection ended")
        if self._stopping.is_set() or self._db_unavailable:
            log.info("MQTT disconnected from %s", self.broker)
        else:
            log.warning("MQTT connection to %s lost: %s", self.broker, reason)

    def _on_sys(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        try:
            self.sys.update(message.topic, message.payload)
        except Exception:
            log.exception("broker figure %r not read", message.topic)
        if self.status_topic is not None and message.retain:
            # Our retained status, if any, came before this (subscription order): done with
            # it. Staying subscribed to a topic we publish to also trips Mosquitto 2.0.11,
            # which drops a client that disconnects right after such a QoS 1 publish.
            client.unsubscribe(self.status_topic)

    def _on_own_status(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        dropped = reported_drops(message.payload)
        if dropped is not None and message.retain:  # not the echo of a status just sent
            self.sys.set_baseline(dropped)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        self._add(received=1, redelivered=int(message.dup))
        self._pending.append(message)
        self._pending_bytes += len(message.payload)
        self._grew = True

    # -- writing a batch --

    def _flush(self, client: Client) -> None:
        messages = self._pending
        self._pending, self._pending_bytes = [], 0
        started = time.perf_counter()
        try:
            close_old_connections()  # as a request would: drop a broken or expired connection
            outcomes = self._writer.write(messages)
        except DatabaseUnavailable as exc:
            connection.close()
            self._db_unavailable = True
            self._count("retry", len(messages), retried=len(messages))
            log_unavailable(messages, exc)
            return  # nothing acknowledged
        self._db_backoff.reset()
        self._last_commit_at = datetime.now(UTC)
        self._add(batches=1)
        BATCH_MESSAGES.observe(len(messages))
        # In the order received: MQTT wants PUBACKs in the order of the PUBLISHes.
        for message, outcome in zip(messages, outcomes, strict=True):
            self._settle(client, message, outcome)
        COMMIT_SECONDS.observe(time.perf_counter() - started)

    def _settle(
        self,
        client: Client,
        message: MQTTMessage,
        outcome: services.IngestResult | Exception,
    ) -> None:
        if isinstance(outcome, services.IngestResult):
            self._count(
                "written" if outcome.written else "duplicate",
                stored=1,
                written=outcome.written,
                duplicates=outcome.duplicates,
            )
        elif isinstance(outcome, TelemetryError):
            log.warning("invalid telemetry on %s: %s", message.topic, outcome.detail)
            self._report(client, message, outcome.code, outcome.detail, outcome.fields)
            self._count("invalid", invalid=1)
        else:
            log.error("MQTT message %d dropped: %r", message.mid, outcome)
            self._report(
                client, message, "internal_error", "the bridge could not store this message", {}
            )
            self._count("error", errors=1)
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
