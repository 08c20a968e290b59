"""Celery entry points for pass prediction. Thin: each calls one service.

``scheduling.predict_chunk`` runs one chunk of a prediction job; a job's chunks are
enqueued together as a group (``enqueue_prediction_job``), so workers on several
machines share a big fleet. ``scheduling.refresh_passes`` runs every five minutes
(registered here, below) and re-predicts spacecraft whose passes are stale.
"""

from __future__ import annotations

from typing import Any

from celery import group, shared_task
from celery.signals import worker_init
from django.db import InterfaceError, OperationalError, transaction

from ops.celery import app
from scheduling import orbits, services
from scheduling.models import PredictionJob

REFRESH_EVERY_S = 300.0


@shared_task(
    name="scheduling.predict_chunk",
    time_limit=900,
    soft_time_limit=840,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def predict_chunk(chunk_id: int) -> dict[str, Any]:
    chunk = services.prediction_chunk_run(chunk_id=chunk_id)
    return {"chunk": chunk.pk, "state": chunk.state, "passes": chunk.passes_stored}


@shared_task(name="scheduling.refresh_passes", time_limit=120, soft_time_limit=100, acks_late=True)
def refresh_passes() -> int | None:
    job = services.prediction_refresh_plan()
    if job is None:
        return None
    enqueue_prediction_job(job)
    return job.pk


def enqueue_prediction_job(job: PredictionJob) -> None:
    """Send the job's chunks to the workers as one group, once the job is committed."""
    chunk_ids = list(job.chunks.order_by("index").values_list("pk", flat=True))
    transaction.on_commit(
        lambda: group(predict_chunk.s(chunk_id) for chunk_id in chunk_ids).apply_async()
    )


app.add_periodic_task(REFRESH_EVERY_S, refresh_passes.s(), name="scheduling.refresh_passes")


@worker_init.connect
def _warm_up_orbits(**_: Any) -> None:
    """Load hapsira's compiled kernels before forking workers (about 1 s from cache)."""
    orbits.warm_up()
