"""Deliveries: claimed by one worker at a time, sent, logged, retried, dead-lettered.

The claim is Healthchecks' conditional UPDATE: a worker sets ``claimed_by`` and a lease
(``claimed_until``) on the oldest due delivery that nobody holds, picking it with ``FOR
UPDATE SKIP LOCKED`` so two workers never take the same row and never wait on each other.
The send happens outside any transaction; the outcome is written only while the claim is
still this worker's (a worker that stalled past its lease finds it taken over and writes
nothing). A worker SIGKILLed after claiming loses nothing: its lease runs out and another
worker sends the delivery. The delivery id travels with every try (``X-Zenith-Delivery``)
so a receiver can drop the rare duplicate of a send whose success was never recorded.

Failures back off exponentially with full jitter (a random wait up to ``base * 2^n``,
capped), and after ``ALERTS_MAX_ATTEMPTS`` the delivery is dead: kept, visible in the API
and the admin, and retryable by hand.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ops.alerts import transports
from ops.alerts.exceptions import NotFound, TransportError, WrongState
from ops.alerts.models import Delivery, DeliveryAttempt, DeliveryState
from ops.alerts.services.audit import audit_record
from ops.alerts.services.notify import outbox_fan_out, payload

_CLAIM = """
    UPDATE alerts_delivery SET claimed_by = %s, claimed_until = %s, attempts = attempts + 1
    WHERE id = (
        SELECT id FROM alerts_delivery
        WHERE state = 'pending' AND next_attempt_at <= %s
          AND (claimed_until IS NULL OR claimed_until < %s)
        ORDER BY next_attempt_at, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
    RETURNING id
"""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def backoff_s(attempt: int, *, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(max, base * 2^(attempt-1))], at least 10 ms."""
    ceiling = min(settings.ALERTS_RETRY_MAX_S, settings.ALERTS_RETRY_BASE_S * 2 ** (attempt - 1))
    return max(0.01, (rng or random).uniform(0, ceiling))


def delivery_claim(*, worker: str, now: datetime) -> int | None:
    """Take the oldest due delivery nobody holds (its id), or ``None``."""
    lease = now + timedelta(seconds=settings.ALERTS_CLAIM_LEASE_S)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM, [worker, lease, now, now])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def delivery_send(*, delivery_id: int, worker: str, now: datetime | None = None) -> str:
    """Send a delivery this worker has claimed; record the try; the new state."""
    delivery = Delivery.objects.select_related("notification__alert__spacecraft", "channel").get(
        pk=delivery_id
    )
    started = now or timezone.now()
    clock = time.perf_counter()
    status_code: int | None = None
    error = ""
    try:
        status_code = transports.send(
            delivery.transport,
            delivery.target,
            payload(delivery.notification, delivery),
            delivery_id=delivery.pk,
            secret=delivery.channel.secret if delivery.channel else "",
        )
    except TransportError as exc:
        error, status_code = exc.detail, exc.status_code
    except Exception as exc:  # a bug in a transport must not wedge the queue
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = (time.perf_counter() - clock) * 1000.0
    finished = now or timezone.now()
    with transaction.atomic():
        mine = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, claimed_by=worker, state=DeliveryState.PENDING)
            .first()
        )
        DeliveryAttempt.objects.create(
            delivery_id=delivery_id,
            number=delivery.attempts,
            worker=worker,
            started_at=started,
            duration_ms=duration_ms,
            ok=not error,
            status_code=status_code,
            error=error[:2000],
        )
        if mine is None:
            return "lost"  # the lease ran out and another worker took over
        mine.claimed_by, mine.claimed_until = "", None
        alert = delivery.notification.alert
        if not error:
            mine.state, mine.sent_at = DeliveryState.SENT, finished
            action = "notification.sent"
        elif mine.attempts >= settings.ALERTS_MAX_ATTEMPTS:
            mine.state, mine.last_error = DeliveryState.DEAD, error
            action = "notification.dead"
        else:
            mine.last_error = error
            mine.next_attempt_at = finished + timedelta(seconds=backoff_s(mine.attempts))
            action = ""
        mine.save()
        if action:
            audit_record(
                at=finished,
                actor=worker,
                action=action,
                alert=alert,
                detail={
                    "delivery": mine.pk,
                    "kind": delivery.notification.kind,
                    "transport": mine.transport,
                    "target": mine.target,
                    "attempts": mine.attempts,
                    "error": error or None,
                },
            )
    return str(mine.state)


def dispatch(
    *,
    worker: str | None = None,
    budget_s: float = 50.0,
    clock: Callable[[], datetime] = timezone.now,
) -> dict[str, int]:
    """One worker's round: fan out the outbox, then send every due delivery it can claim
    until none is left or ``budget_s`` runs out (the task's time limit is above it)."""
    worker = worker or worker_name()
    done = {"fanned_out": outbox_fan_out(now=clock()), "sent": 0, "failed": 0, "lost": 0}
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        delivery_id = delivery_claim(worker=worker, now=clock())
        if delivery_id is None:
            # Rows the fan-out added meanwhile (an ingest woke us twice): one more look.
            if outbox_fan_out(now=clock()) == 0:
                break
            continue
        state = delivery_send(delivery_id=delivery_id, worker=worker, now=clock())
        key = {"sent": "sent", "lost": "lost"}.get(state, "failed")
        done[key] += 1
    return done


def delivery_retry(*, delivery_id: int, actor: str, now: datetime | None = None) -> Delivery:
    """Put a dead-lettered delivery back in the queue (after fixing the receiver)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"delivery {delivery_id} does not exist")
        if delivery.state != DeliveryState.DEAD:
            raise WrongState(
                f"delivery {delivery_id} is {delivery.state}", fields={"state": delivery.state}
            )
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
        delivery.save()
        audit_record(
            at=now,
            actor=actor,
            action="notification.retried",
            alert=delivery.notification.alert,
            detail={"delivery": delivery.pk},
        )
    return delivery
