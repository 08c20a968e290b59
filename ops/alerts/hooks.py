"""The entry point telemetry calls: the ingest observer (registered in ``ready``).

It evaluates the batch's rows inside the ingest transaction; when that changed alerts
(and so wrote outbox rows) a worker is woken once the transaction commits, rather than
waiting for beat's next sweep. Waking is best effort: beat sweeps the outbox anyway.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from ops.alerts.services import evaluation
from telemetry.observers import Ingested

log = logging.getLogger(__name__)


def dispatch_soon() -> None:
    """Ask a worker to fan out and deliver what the committed transaction wrote."""

    def send() -> None:
        from zenith.celery import app

        try:
            app.send_task("alerts.dispatch", queue=settings.ALERTS_QUEUE)
        except Exception:  # the broker is down: beat's sweep delivers it later
            log.warning("could not wake an alert worker; beat will sweep", exc_info=True)

    transaction.on_commit(send)


def on_broker_drops(dropped: int, total: int) -> None:
    """The MQTT broker dropped messages (its per-client queue overflowed): telemetry was
    lost before Zenith saw it. One alert, keyed so repeated drops raise the same one."""
    from django.utils import timezone

    from ops.alerts.services.sources import Event, event_apply

    with transaction.atomic():
        event_apply(
            event=Event(
                action="trigger",
                dedup_key="mqtt-broker-drops",
                routing_key="",
                summary=(
                    f"MQTT broker dropped {dropped} message(s) ({total} since it started): "
                    "telemetry lost before ingest; check the bridges and max_queued_bytes"
                ),
                severity="critical",
                source="mqtt-broker",
                details={"dropped": dropped, "dropped_total": total},
            ),
            actor="mqtt-bridge",
            now=timezone.now(),
        )
        dispatch_soon()


def on_ingest(ingested: Ingested) -> None:
    result = evaluation.evaluate_ingest(ingested=ingested)
    if result.changes:
        dispatch_soon()
