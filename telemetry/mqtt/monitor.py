"""What the broker says about itself (``$SYS``) and what the bridges say about themselves
(their retained status), for ``/metrics``, ``/healthz`` and alerts.

The figures that matter for loss: ``$SYS/broker/store/messages/count`` and ``.../bytes``
(messages the broker holds: queued for sessions, in flight, retained) and
``$SYS/broker/publish/messages/dropped`` (messages it threw away, a queue limit reached:
telemetry lost after the publisher was told it was delivered). The bridge subscribes to
them and keeps a ``SysWatch``; any other process (the web server's ``/healthz`` and
``/metrics``) reads them, with the bridges' statuses, over a short connection
(``read_broker``).

Alert hook: ``zenith_mqtt_broker_dropped_messages_total`` (the broker's own count since it
started; ``increase(...[5m]) > 0`` is the rule) and, in the bridge process,
``register_drop_listener(name, fn)``: ``fn(dropped, total)`` runs when the bridge sees the
count rise (the alerts app registers one in its ``ready``, as ingest observers do).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from paho.mqtt.client import Client, MQTTMessage, MQTTProtocolVersion
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from telemetry.mqtt.broker import Broker, default_url, login_for
from telemetry.mqtt.credentials import status_topic

log = logging.getLogger(__name__)

SYS_COUNT = "$SYS/broker/store/messages/count"
SYS_BYTES = "$SYS/broker/store/messages/bytes"
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"
SYS_TOPICS = (SYS_COUNT, SYS_BYTES, SYS_DROPPED)
DROP_WINDOW_S = 900.0  # "recent" drops: what /healthz reports as a failure
STALE_S = 30.0  # a status older than this: the bridge is hung or its clock is off


@dataclass(frozen=True, slots=True)
class BrokerFigures:
    queued_messages: int | None = None
    queued_bytes: int | None = None
    dropped_total: int | None = None  # since the broker started

    def as_dict(self) -> dict[str, int | None]:
        return {
            "queued_messages": self.queued_messages,
            "queued_bytes": self.queued_bytes,
            "dropped_total": self.dropped_total,
        }


DropListener = Callable[[int, int], None]
_listeners: dict[str, DropListener] = {}
_listeners_lock = threading.Lock()


def register_drop_listener(name: str, listener: DropListener) -> None:
    """``listener(dropped, total)`` whenever a bridge in this process sees the broker's
    dropped count rise (``dropped`` new ones, ``total`` since the broker started)."""
    with _listeners_lock:
        _listeners[name] = listener


def unregister_drop_listener(name: str) -> None:
    with _listeners_lock:
        _listeners.pop(name, None)


def _int(payload: bytes) -> int | None:
    try:
        return int(payload.strip() or b"x")
    except ValueError:
        return None


class SysWatch:
    """The broker's figures as its ``$SYS`` topics report them, and (``report_drops``) the
    drops seen: each rise of the dropped count is logged, counted for ``dropped_recently``
    and passed to the drop listeners.

    The count is compared with the last one seen: at first 0 (every drop since the broker
    started is news), or what this bridge saw before it restarted (``set_baseline``, from its
    own retained status), so a drop that happened while no bridge was watching is reported,
    and one reported already is not reported again."""

    def __init__(self, *, report_drops: bool = True, window_s: float = DROP_WINDOW_S) -> None:
        self.report_drops = report_drops
        self.window_s = window_s
        self._lock = threading.Lock()
        self._figures = BrokerFigures()
        self._drops: deque[tuple[float, int]] = deque()

    def set_baseline(self, dropped_total: int) -> None:
        """What was already reported, unless figures have arrived since (they are newer);
        also the figure until the broker says otherwise (it does only when it changes)."""
        with self._lock:
            if self._figures.dropped_total is None:
                self._figures = dataclasses.replace(self._figures, dropped_total=dropped_total)

    @property
    def figures(self) -> BrokerFigures:
        with self._lock:
            return self._figures

    def dropped_recently(self) -> int:
        horizon = time.monotonic() - self.window_s
        with self._lock:
            while self._drops and self._drops[0][0] < horizon:
                self._drops.popleft()
            return sum(count for _, count in self._drops)

    def update(self, topic: str, payload: bytes) -> None:
        value = _int(payload)
        if value is None:
            return
        dropped = 0
        with self._lock:
            figures = self._figures
            if topic == SYS_COUNT:
                self._figures = BrokerFigures(value, figures.queued_bytes, figures.dropped_total)
            elif topic == SYS_BYTES:
                self._figures = BrokerFigures(figures.queued_messages, value, figures.dropped_total)
            elif topic == SYS_DROPPED:
                before = figures.dropped_total if figures.dropped_total is not None else 0
                # A lower count than before: the broker restarted and counts from zero.
                if self.report_drops:
                    dropped = value - before if value >= before else value
                self._figures = BrokerFigures(figures.queued_messages, figures.queued_bytes, value)
                if dropped:
                    self._drops.append((time.monotonic(), dropped))
        if dropped:
            log.error(
                "the MQTT broker dropped %d messages (%d since it started): a session queue "
                "is full (max_queued_bytes); telemetry was lost",
                dropped,
                value,
            )
            with _listeners_lock:
                listeners = list(_listeners.values())
            for listener in listeners:
                try:
                    listener(dropped, value)
                except Exception:
                    log.exception("MQTT drop listener failed")


# --- bridge statuses ----------------------------------------------------------------------


def bridge_status(
    *,
    state: str,
    client_id: str,
    counts: dict[str, int],
    pending: int,
    last_commit_at: datetime | None,
    watch: SysWatch,
) -> bytes:
    """A bridge's retained status: its state and counts, and the broker's figures it saw
    (``broker.dropped_total``: the baseline of its next start, see ``SysWatch``)."""
    return orjson.dumps(
        {
            "state": state,
            "at": datetime.now(UTC).isoformat(),
            "client_id": client_id,
            **counts,
            "pending": pending,
            "last_commit_at": last_commit_at.isoformat() if last_commit_at else None,
            "broker": watch.figures.as_dict(),
            "dropped_recently": watch.dropped_recently(),
        }
    )


def reported_drops(status: bytes) -> int | None:
    """The dropped count a bridge's (retained) status says it had seen."""
    try:
        dropped = orjson.loads(status).get("broker", {}).get("dropped_total") if status else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return dropped if isinstance(dropped, int) else None


# --- reading the broker from another process ---------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerReading:
    reachable: bool
    figures: BrokerFigures = BrokerFigures()
    bridges: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""


def read_broker(
    *,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    status_filter: str,
    tls: bool = False,
    timeout_s: float = 2.0,
    grace_s: float = 0.2,
) -> BrokerReading:
    """Connect, collect the retained bridge statuses and ``$SYS`` figures, disconnect.

    Retained messages follow the SUBACK at once, so the reading ends ``grace_s`` after it
    (or when every figure is in). Mosquitto gives its ``$SYS`` messages a 60 s expiry and
    republishes a figure only when it changes, so a figure quiet for a minute is not
    retained: it is then taken from the newest bridge status (bridges watch continuously).
    """
    client = Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,
    )
    if username is not None:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set()
    sys_watch = SysWatch(report_drops=False)
    bridges: dict[str, dict[str, Any]] = {}
    subacked = threading.Event()
    complete = threading.Event()
    refused: list[str] = []

    def on_connect(client: Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
            subacked.set()
            return
        client.subscribe([(status_filter, 0), *((topic, 0) for topic in SYS_TOPICS)])

    def on_message(client: Client, userdata: Any, message: MQTTMessage) -> None:
        if message.topic.startswith("$SYS/"):
            sys_watch.update(message.topic, message.payload)
            if None not in dataclasses.astuple(sys_watch.figures):
                complete.set()
            return
        try:
            status = orjson.loads(message.payload) if message.payload else None
        except orjson.JSONDecodeError:
            return
        if isinstance(status, dict):
            bridges[message.topic.split("/")[-2]] = status

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: subacked.set()
    client.on_message = on_message
    try:
        client.connect(host, port, keepalive=10)
    except OSError as exc:
        return BrokerReading(False, error=f"{type(exc).__name__}: {exc}")
    client.loop_start()
    try:
        answered = subacked.wait(timeout_s)
        if answered and not refused:
            complete.wait(grace_s)
    finally:
        client.disconnect()
        client.loop_stop()
    if refused:
        return BrokerReading(False, error=f"connection refused: {refused[0]}")
    if not answered:
        return BrokerReading(False, error=f"no answer within {timeout_s:.0f} s")
    figures = _with_bridge_figures(sys_watch.figures, bridges)
    if figures.dropped_total is None:
        return BrokerReading(True, figures, bridges, error="no $SYS figures (sys_interval 0?)")
    return BrokerReading(True, figures, bridges)


def _with_bridge_figures(
    figures: BrokerFigures, bridges: dict[str, dict[str, Any]]
) -> BrokerFigures:
    """Fill the figures the broker did not retain from the newest bridge status."""
    newest = sorted(bridges.values(), key=lambda status: str(status.get("at", "")))
    seen = newest[-1].get("broker") if newest else None
    if not isinstance(seen, dict):
        return figures
    values = [
        ours if ours is not None else (theirs if isinstance(theirs, int) else None)
        for ours, theirs in zip(
            dataclasses.astuple(figures),
            (seen.get(name) for name in ("queued_messages", "queued_bytes", "dropped_total")),
            strict=True,
        )
    ]
    return BrokerFigures(*values)


def summarize(reading: BrokerReading, *, now: datetime | None = None) -> dict[str, Any]:
    """``/healthz``'s view: ok when the broker answers with its figures, at least one bridge
    is online (and fresh), and no bridge saw drops in the last ``DROP_WINDOW_S``."""
    if not reading.reachable:
        return {"ok": False, "error": reading.error}
    now = now or datetime.now(UTC)
    bridges: dict[str, dict[str, Any]] = {}
    online = 0
    dropped_recently = 0
    for client_id, status in sorted(reading.bridges.items()):
        state = str(status.get("state", "unknown"))
        age_s: float | None = None
        try:
            age_s = (now - datetime.fromisoformat(str(status["at"]))).total_seconds()
        except (KeyError, ValueError, TypeError):
            pass
        if state == "online" and (age_s is None or age_s > STALE_S):
            state = "stale"
        online += state == "online"
        recent = status.get("dropped_recently") if state == "online" else 0
        dropped_recently += int(recent) if isinstance(recent, int) else 0
        bridges[client_id] = {
            "state": state,
            "age_s": None if age_s is None else round(age_s, 1),
            **{k: status.get(k) for k in ("stored", "retried", "pending", "invalid", "errors")},
        }
    problems = []
    if reading.error:
        problems.append(reading.error)
    if not online:
        problems.append("no MQTT bridge online")
    if dropped_recently:
        problems.append(f"the broker dropped {dropped_recently} messages in the last 15 min")
    out: dict[str, Any] = {
        "ok": not problems,
        **reading.figures.as_dict(),
        "dropped_recently": dropped_recently,
        "bridges": bridges,
    }
    if problems:
        out["error"] = "; ".join(problems)
    return out


# --- Prometheus ----------------------------------------------------------------------------


class BrokerCollector(Collector):
    """The broker's figures for ``/metrics``, from ``source()`` at scrape time (the bridge's
    ``SysWatch``, or a cached ``read_broker`` in other processes; None: unreachable)."""

    def __init__(self, source: Callable[[], BrokerFigures | None]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        figures = self.source()
        yield GaugeMetricFamily(
            "zenith_mqtt_broker_up",
            "1 when the MQTT broker answered with its $SYS figures",
            value=float(figures is not None and figures.dropped_total is not None),
        )
        if figures is None:
            return
        for name, help_text, value in (
            (
                "zenith_mqtt_broker_queued_messages",
                "messages the broker holds (queued for sessions, in flight, retained)",
                figures.queued_messages,
            ),
            ("zenith_mqtt_broker_queued_bytes", "bytes of those messages", figures.queued_bytes),
        ):
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=float(value))
        if figures.dropped_total is not None:
            yield CounterMetricFamily(
                "zenith_mqtt_broker_dropped_messages",
                "messages the broker dropped (a session queue full) since it started; "
                "alert on any increase",
                value=float(figures.dropped_total),
            )


class CachedReading:
    """``read_broker`` with the settings' broker and bridge login, at most every ``ttl_s``."""

    def __init__(self, read: Callable[[], BrokerReading], ttl_s: float = 5.0) -> None:
        self.read, self.ttl_s = read, ttl_s
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._reading = BrokerReading(False, error="not read yet")

    def __call__(self) -> BrokerReading:
        with self._lock:
            if time.monotonic() - self._at > self.ttl_s:
                self._reading = self.read()
                self._at = time.monotonic()
            return self._reading

    def figures(self) -> BrokerFigures | None:
        reading = self()
        return reading.figures if reading.reachable else None


_readings: dict[tuple[str, str], CachedReading] = {}
_readings_lock = threading.Lock()


def _settings_reading() -> CachedReading:
    """The configured broker (``MQTT_URL``), read as the bridge user (whose ACL allows
    ``$SYS`` and the statuses), cached per broker and topic."""
    url, topic = default_url(), settings.MQTT_TOPIC
    with _readings_lock:
        cached = _readings.get((url, topic))
        if cached is None:

            def read() -> BrokerReading:
                broker = Broker.from_url(url)
                username, password = login_for(broker)
                return read_broker(
                    host=broker.host,
                    port=broker.port,
                    tls=broker.tls,
                    username=username,
                    password=password,
                    status_filter=status_topic(topic, "+"),
                    timeout_s=max(0.5, settings.ZENITH_HEALTH_TIMEOUT_S - 0.5),
                )

            cached = _readings[(url, topic)] = CachedReading(read)
    return cached


def broker_health() -> dict[str, Any]:
    """The ``mqtt`` check of ``/healthz`` (registered when ``MQTT_MONITOR`` is on)."""
    return summarize(_settings_reading()())


def broker_figures() -> BrokerFigures | None:
    """The configured broker's figures for ``/metrics`` in processes without a bridge."""
    return _settings_reading().figures()
