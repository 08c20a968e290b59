"""Acting on transfers and workloads: cancel, pause, resume, reprioritise.

Each change is a conditional update judged on the row as it is in the database, so it
races safely with a contact moving the transfer's chunks: a chunk on the air when a
transfer is paused or cancelled still lands (and counts) but no further chunk is sent.
Callers replan the spacecraft afterwards (``transfer_plan_refresh``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from scheduling.exceptions import InvalidRequest, InvalidTransition
from scheduling.models import (
    OPEN_TRANSFER_STATES,
    TERMINAL_WORKLOAD_STATES,
    Transfer,
    TransferChunk,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)
from scheduling.services.transfers.plan import transfer_plan_refresh
from scheduling.services.transfers.states import move_strict, record, workload_move
from scheduling.storage import part_path

UNSET: object = object()


def _replanned(transfer: Transfer, *, now: datetime, replan: bool) -> Transfer:
    """Replan the transfer's spacecraft after a change (callers changing several
    transfers in one transaction pass ``replan=False`` and replan once after it)."""
    if replan:
        transfer_plan_refresh(spacecraft_ids=[transfer.spacecraft_id], now=now)
        transfer.refresh_from_db()
    return transfer


def _halt(*, transfer: Transfer, to_state: str, actor: str, now: datetime, detail: str) -> None:
    """Stop a transfer moving (paused or cancelled): its plan goes with it."""
    move_strict(transfer=transfer, to_state=to_state, actor=actor, now=now, detail=detail)
    transfer.allocations.all().delete()


def transfer_cancel(
    *,
    transfer: Transfer,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    replan: bool = True,
) -> Transfer:
    """Cancel an open transfer: it stops at the next chunk; its plan is dropped and a
    downlink's partial file removed. Terminal transfers raise :class:`InvalidTransition`."""
    now = now or timezone.now()
    with transaction.atomic():
        _halt(
            transfer=transfer,
            to_state=TransferState.CANCELLED,
            actor=actor,
            now=now,
            detail=reason or "cancelled",
        )
        TransferChunk.objects.filter(
            transfer=transfer, acked_at__isnull=True, claimed_until__isnull=False
        ).update(claimed_until=None, claim_contact=None)
        # Only once the cancel is committed (a rolled-back cancel keeps its chunks).
        part = part_path(transfer)
        transaction.on_commit(lambda: part.unlink(missing_ok=True))
    return _replanned(transfer, now=now, replan=replan)


def transfer_pause(
    *,
    transfer: Transfer,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    replan: bool = True,
) -> Transfer:
    """Pause a queued, planned or in-progress transfer (the chunk on the air finishes)."""
    now = now or timezone.now()
    with transaction.atomic():
        _halt(
            transfer=transfer,
            to_state=TransferState.PAUSED,
            actor=actor,
            now=now,
            detail=reason or "paused",
        )
    return _replanned(transfer, now=now, replan=replan)


def transfer_resume(
    *,
    transfer: Transfer,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    replan: bool = True,
) -> Transfer:
    """Resume a paused transfer: queued again (or verifying, when every chunk arrived)."""
    now = now or timezone.now()
    transfer.refresh_from_db()
    target = (
        TransferState.VERIFYING
        if transfer.chunks_done >= transfer.chunk_count
        else TransferState.QUEUED
    )
    if transfer.state != TransferState.PAUSED:
        raise InvalidTransition(
            f"transfer {transfer.pk} is {transfer.state}, not paused",
            fields={"state": f"{transfer.state}: only a paused transfer resumes"},
        )
    move_strict(
        transfer=transfer, to_state=target, actor=actor, now=now, detail=reason or "resumed"
    )
    return _replanned(transfer, now=now, replan=replan)


def _check_priority(
    *, priority: int | None, deadline: datetime | object | None, now: datetime
) -> None:
    fields: dict[str, str] = {}
    if priority is not None and not 1 <= priority <= 10:
        fields["priority"] = "from 1 (lowest) to 10 (highest)"
    if deadline is not UNSET and deadline is not None:
        if not isinstance(deadline, datetime) or deadline.tzinfo is None or deadline <= now:
            fields["deadline"] = "an aware time in the future"
    if priority is None and deadline is UNSET:
        fields["priority"] = "give a priority or a deadline"
    if fields:
        raise InvalidRequest(next(iter(fields.values())), fields=fields)


def transfer_reprioritise(
    *,
    transfer: Transfer,
    actor: str,
    priority: int | None = None,
    deadline: datetime | object | None = UNSET,
    now: datetime | None = None,
    replan: bool = True,
) -> Transfer:
    """Change an open transfer's priority and/or deadline (``None`` clears it)."""
    now = now or timezone.now()
    _check_priority(priority=priority, deadline=deadline, now=now)
    with transaction.atomic():
        row = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if row.state not in OPEN_TRANSFER_STATES:
            raise InvalidTransition(
                f"transfer {row.pk} is {row.state}",
                fields={"state": f"{row.state}: only open transfers change priority"},
            )
        changes = []
        if priority is not None and priority != row.priority:
            changes.append(f"priority {row.priority} -> {priority}")
            row.priority = priority
        if deadline is not UNSET and deadline != row.deadline:
            changes.append(f"deadline {row.deadline} -> {deadline}")
            row.deadline = deadline  # type: ignore[assignment]
        row.save(update_fields=["priority", "deadline"])
        if changes:
            record(
                transfer=row, kind="reprioritise", actor=actor, now=now, detail="; ".join(changes)
            )
    transfer.refresh_from_db()
    return _replanned(transfer, now=now, replan=replan)


def _open_transfers(workload: Workload) -> list[Transfer]:
    return list(workload.transfers.filter(state__in=OPEN_TRANSFER_STATES).order_by("pk"))


def _workload_event(workload: Workload, actor: str, now: datetime, detail: str) -> None:
    WorkloadEvent.objects.create(
        workload=workload,
        at=now,
        actor=actor[:150],
        from_state=workload.state,
        to_state=workload.state,
        detail=detail,
    )


def _check_open(workload: Workload) -> None:
    if workload.state in TERMINAL_WORKLOAD_STATES:
        raise InvalidTransition(
            f"workload {workload.pk} is {workload.state}",
            fields={"state": f"{workload.state}: nothing left to act on"},
        )


def workload_cancel(
    *, workload: Workload, actor: str, reason: str = "", now: datetime | None = None
) -> Workload:
    """Cancel a workload and every open transfer of it."""
    now = now or timezone.now()
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        _check_open(workload)
        workload_move(
            workload=workload,
            to_state=WorkloadState.CANCELLED,
            actor=actor,
            now=now,
            detail=reason or "cancelled",
        )
        for t in _open_transfers(workload):
            transfer_cancel(
                transfer=t,
                actor=actor,
                reason=f"workload cancelled: {reason}",
                now=now,
                replan=False,
            )
    transfer_plan_refresh(spacecraft_ids=[workload.spacecraft_id], now=now)
    return workload


def workload_pause(
    *, workload: Workload, actor: str, reason: str = "", now: datetime | None = None
) -> Workload:
    now = now or timezone.now()
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        _check_open(workload)
        for t in _open_transfers(workload):
            if t.state in (TransferState.QUEUED, TransferState.PLANNED, TransferState.IN_PROGRESS):
                transfer_pause(
                    transfer=t, actor=actor, reason="workload paused", now=now, replan=False
                )
        workload.paused = True
        workload.save(update_fields=["paused"])
        _workload_event(workload, actor, now, reason or "paused")
    transfer_plan_refresh(spacecraft_ids=[workload.spacecraft_id], now=now)
    return workload


def workload_resume(
    *, workload: Workload, actor: str, reason: str = "", now: datetime | None = None
) -> Workload:
    now = now or timezone.now()
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        _check_open(workload)
        for t in _open_transfers(workload):
            if t.state == TransferState.PAUSED:
                transfer_resume(
                    transfer=t, actor=actor, reason="workload resumed", now=now, replan=False
                )
        workload.paused = False
        workload.save(update_fields=["paused"])
        _workload_event(workload, actor, now, reason or "resumed")
    transfer_plan_refresh(spacecraft_ids=[workload.spacecraft_id], now=now)
    return workload


def workload_reprioritise(
    *,
    workload: Workload,
    actor: str,
    priority: int | None = None,
    deadline: datetime | object | None = UNSET,
    now: datetime | None = None,
) -> Workload:
    """Change a workload's priority and/or deadline, and those of its open transfers."""
    now = now or timezone.now()
    _check_priority(priority=priority, deadline=deadline, now=now)
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        _check_open(workload)
        for t in _open_transfers(workload):
            transfer_reprioritise(
                transfer=t, actor=actor, priority=priority, deadline=deadline, now=now, replan=False
            )
        if priority is not None:
            workload.priority = priority
        if deadline is not UNSET:
            workload.deadline = deadline  # type: ignore[assignment]
        workload.save(update_fields=["priority", "deadline"])
        _workload_event(
            workload, actor, now, f"priority {workload.priority}, deadline {workload.deadline}"
        )
    transfer_plan_refresh(spacecraft_ids=[workload.spacecraft_id], now=now)
    return workload


__all__ = [
    "UNSET",
    "transfer_cancel",
    "transfer_pause",
    "transfer_reprioritise",
    "transfer_resume",
    "workload_cancel",
    "workload_pause",
    "workload_reprioritise",
    "workload_resume",
]
