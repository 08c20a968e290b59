"""Celery entry points for scheduling. Thin: each calls one service.

``scheduling.predict_chunk`` runs one chunk of a prediction job; a job's chunks are
enqueued together as a group (``enqueue_prediction_job``), so workers on several
machines share a big fleet. ``scheduling.refresh_passes`` runs every five minutes (on
beat, registered in ``SchedulingConfig.ready``) and re-predicts spacecraft whose passes
are stale; when such a refresh finishes (new TLEs, changed stations) the contact plan is redone
(``scheduling.replan_contacts``, also on beat).

Transfers: ``scheduling.dispatch_contacts`` (beat, every ``ZENITH_DISPATCH_EVERY_S``)
sends each contact about to start to ``scheduling.run_contact`` on the link queue
(``ZENITH_LINK_QUEUE``): a long task, from AOS to LOS, safe to redeliver (the contact's
lease fences out a second runner). ``scheduling.prepare_transfer`` hashes a large
upload's chunks.
"""

from __future__ import annotations

from typing import Any

from celery import group, shared_task
from celery.signals import worker_init, worker_shutting_down
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from orbital import propagation
from scheduling.models import JobState, PredictionJob
from scheduling.services import execution, replan, transfers
from scheduling.services import passes as pass_services


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
    chunk = pass_services.prediction_chunk_run(chunk_id=chunk_id)
    job = PredictionJob.objects.get(pk=chunk.job_id)
    if job.updates_coverage and job.state == JobState.SUCCEEDED and job.finished_at:
        # Passes changed under the contact plan: redo it (once: the last chunk closes
        # the job, and a redelivered chunk finds the job already closed).
        closed_by_me = chunk.finished_at is not None and chunk.finished_at <= job.finished_at
        if closed_by_me:
            replan_contacts.delay()
    return {"chunk": chunk.pk, "state": chunk.state, "passes": chunk.passes_stored}


@shared_task(name="scheduling.refresh_passes", time_limit=120, soft_time_limit=100, acks_late=True)
def refresh_passes() -> int | None:
    job = pass_services.prediction_refresh_plan()
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


@shared_task(
    name="scheduling.replan_contacts",
    time_limit=600,
    soft_time_limit=540,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def replan_contacts() -> dict[str, Any]:
    outcome = replan.plan_refresh(actor="beat")
    return {
        "method": outcome.method,
        "added": len(outcome.added),
        "removed": len(outcome.removed),
        "kept": len(outcome.kept),
    }


@shared_task(
    name="scheduling.prepare_transfer",
    time_limit=6 * 3600,
    soft_time_limit=6 * 3600 - 60,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def prepare_transfer(transfer_id: int) -> str:
    transfer = transfers.transfer_prepare(transfer_id=transfer_id)
    return str(transfer.state)


@shared_task(name="scheduling.dispatch_contacts", time_limit=60, soft_time_limit=50, acks_late=True)
def dispatch_contacts() -> list[int]:
    outcome = execution.contact_dispatch_due()
    queue = str(settings.ZENITH_LINK_QUEUE)
    for contact_id in outcome.due:
        run_contact.apply_async(args=[contact_id], queue=queue)
    return list(outcome.due)


# No time limit: a GEO contact lasts hours. The lease bounds a lost runner instead, and
# a redelivery (broker visibility timeout) finds the lease held and returns.
@shared_task(
    name="scheduling.run_contact",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def run_contact(contact_id: int) -> dict[str, Any]:
    hostname = run_contact.request.hostname or "worker"
    outcome = execution.contact_run(
        contact_id=contact_id, runner=f"{hostname}:{run_contact.request.id or '-'}"
    )
    return {"contact": contact_id, "state": outcome.state, "reason": outcome.reason}


@worker_init.connect
def _warm_up_orbits(**_: Any) -> None:
    """Load hapsira's compiled kernels before forking workers (about 1 s from cache)."""
    propagation.warm_up()


@worker_shutting_down.connect
def _hand_contacts_back(**_: Any) -> None:
    """Contacts in progress are handed back (their lease released) rather than run to LOS."""
    execution.contact_runs_hand_back()
