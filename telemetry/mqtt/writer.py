"""One batch of MQTT messages written: parsed, ingested in one transaction
(``services.telemetry_ingest_many``), an outcome per message. The bridge acknowledges.

A message refused alone (invalid, or failing on its own at write) has its exception as its
outcome; only an unavailable database fails the whole batch (raised: nothing is written,
nothing may be acknowledged). Should the batched write fail in a way that is not a
per-message refusal (a bug), the messages are written again one by one, so the one at
fault is still the only one lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from paho.mqtt.client import MQTTMessage
from prometheus_client import Counter, Histogram

from telemetry import services
from telemetry.ingest import Samples
from telemetry.mqtt.payloads import parse_payload

log = logging.getLogger(__name__)

OUTCOMES = ("written", "duplicate", "invalid", "retry", "error")
MESSAGES = Counter(
    "zenith_mqtt_messages_total",
    "MQTT telemetry messages by outcome (retry: not acknowledged, the broker redelivers)",
    ["outcome"],
)
for _outcome in OUTCOMES:
    MESSAGES.labels(outcome=_outcome)


BATCH_MESSAGES = Histogram(
    "zenith_mqtt_batch_messages",
    "MQTT messages written per transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
COMMIT_SECONDS = Histogram(
    "zenith_mqtt_batch_seconds",
    "time to parse, write and commit one batch of MQTT messages",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# The PostgreSQL store COPYs through psycopg's own cursor, whose errors Django does not wrap.
DatabaseUnavailable = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class IngestMany(Protocol):
    def __call__(self, *, batches: list[Samples]) -> list[services.IngestResult | Exception]: ...


class BatchWriter:
    def __init__(self, *, node_level: int, ingest: IngestMany | None = None) -> None:
        self.node_level = node_level
        self.ingest: IngestMany = ingest or services.telemetry_ingest_many

    def write(self, messages: Sequence[MQTTMessage]) -> list[services.IngestResult | Exception]:
        """An outcome per message, in order; raises ``DatabaseUnavailable`` errors."""
        now = timezone.now()
        outcomes: list[services.IngestResult | Exception | None] = []
        batches: list[Samples] = []
        for message in messages:
            try:
                batches.append(self._parse(message, now))
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        written = iter(self._ingest_isolated(batches))
        return [next(written) if outcome is None else outcome for outcome in outcomes]

    def _parse(self, message: MQTTMessage, now: datetime) -> Samples:
        topic = message.topic
        levels = topic.split("/")
        node = levels[self.node_level] if len(levels) > self.node_level else ""
        return parse_payload(
            message.payload,
            node=node,
            now=now,
            max_points=settings.TELEMETRY_MAX_POINTS,
            max_bytes=settings.TELEMETRY_MAX_BODY_BYTES,
        )

    def _ingest_isolated(self, batches: list[Samples]) -> list[services.IngestResult | Exception]:
        if not batches:
            return []
        try:
            return self.ingest(batches=batches)
        except DatabaseUnavailable:
            raise
        except Exception:
            if len(batches) == 1:
                log.exception("MQTT batch of one message failed")
                return [RuntimeError("the bridge could not store this message")]
            # Not a per-message refusal (those are outcomes): find the one at fault.
            log.exception("MQTT batch of %d messages failed; writing one by one", len(batches))
            outcomes: list[services.IngestResult | Exception] = []
            for samples in batches:
                outcomes += self._ingest_isolated([samples])
            return outcomes


def database_answers() -> bool:
    """One ``SELECT 1`` on this thread's connection (closed again if it fails)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseUnavailable as exc:
        connection.close()
        log.warning("database still unavailable: %s", exc)
        return False
    return True


def log_unavailable(messages: Sequence[MQTTMessage], exc: Exception) -> None:
    lost = sum(1 for message in messages if message.qos == 0)
    if lost:
        log.error("database unavailable, %d QoS 0 messages lost: %s", lost, exc)
    if len(messages) == 1:
        log.warning("database unavailable, message %d not acknowledged: %s", messages[0].mid, exc)
    else:
        log.warning(
            "database unavailable, %d messages (%d to %d) not acknowledged: %s",
            len(messages),
            messages[0].mid,
            messages[-1].mid,
            exc,
        )
