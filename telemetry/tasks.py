"""Celery entry points for telemetry upkeep. Thin: each calls one service."""

from __future__ import annotations

from celery import shared_task

from telemetry import services


@shared_task(name="telemetry.rollup", time_limit=600, soft_time_limit=540, acks_late=True)
def rollup() -> dict[str, int]:
    return services.telemetry_rollup()


@shared_task(name="telemetry.retention", time_limit=1800, soft_time_limit=1700, acks_late=True)
def retention() -> dict[str, int]:
    return services.telemetry_apply_retention()
