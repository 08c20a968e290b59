"""Celery entry points for alerts. Thin: each calls one service.

``alerts.dispatch`` fans out the notification outbox and sends due deliveries (woken
after an ingest or an action changed an alert, and on beat for retries); several workers
may run it at once: claims keep each delivery to one of them. ``alerts.escalate`` (beat)
runs due escalation steps and expired shelves; ``alerts.staleness`` (beat) checks
pass-aware staleness and ``no_data`` rules.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from ops.alerts.services import delivery, escalation, staleness

_RETRY: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name="alerts.dispatch", time_limit=120, soft_time_limit=110, **_RETRY)
def dispatch() -> dict[str, int]:
    return delivery.dispatch(budget_s=60.0)


@shared_task(name="alerts.escalate", time_limit=60, soft_time_limit=50, **_RETRY)
def escalate() -> dict[str, int]:
    return escalation.escalation_tick(now=timezone.now())


@shared_task(name="alerts.staleness", time_limit=60, soft_time_limit=50, **_RETRY)
def check_staleness() -> dict[str, int]:
    return staleness.staleness_check(now=timezone.now())
