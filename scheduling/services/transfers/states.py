"""The transfer lifecycle (states and allowed moves), event records, and how a workload
follows its transfers: what every transfer write shares."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from scheduling import live
from scheduling.exceptions import InvalidTransition
from scheduling.models import (
    TERMINAL_WORKLOAD_STATES,
    Contact,
    Transfer,
    TransferDirection,
    TransferEvent,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)

PLANNER_ACTOR = "planner"

S = TransferState
# The lifecycle. Terminal states (completed, failed, cancelled) go nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.PLANNED, S.IN_PROGRESS, S.PAUSED, S.VERIFYING, S.CANCELLED, S.FAILED}),
    S.PLANNED: frozenset({S.QUEUED, S.IN_PROGRESS, S.PAUSED, S.VERIFYING, S.CANCELLED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.QUEUED, S.PLANNED, S.PAUSED, S.VERIFYING, S.CANCELLED, S.FAILED}),
    S.PAUSED: frozenset({S.QUEUED, S.VERIFYING, S.CANCELLED, S.FAILED}),
    S.VERIFYING: frozenset({S.COMPLETED, S.IN_PROGRESS, S.QUEUED, S.CANCELLED, S.FAILED}),
}


def record(
    *,
    transfer: Transfer,
    kind: str,
    actor: str,
    now: datetime,
    from_state: str = "",
    to_state: str = "",
    contact: Contact | None = None,
    detail: str = "",
) -> TransferEvent:
    return TransferEvent.objects.create(
        transfer=transfer,
        at=now,
        actor=actor[:150],
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        contact=contact,
        detail=detail,
    )


def move(
    *,
    transfer: Transfer,
    to_state: str,
    actor: str,
    now: datetime,
    detail: str = "",
    contact: Contact | None = None,
    expect: tuple[str, ...] | None = None,
) -> bool:
    """Move a transfer along ``TRANSITIONS`` by a conditional update (no lock needed).

    Judged on the row in the database: returns False when it is no longer in one of
    ``expect`` (default: any state that may go to ``to_state``), so two writers racing
    for the same change make it once. ``transfer`` is refreshed on success.
    """
    allowed = expect or tuple(s for s, nxt in TRANSITIONS.items() if to_state in nxt)
    current = Transfer.objects.filter(pk=transfer.pk).values_list("state", flat=True).first()
    if current is None or current not in allowed:
        return False
    values: dict[str, object] = {"state": to_state, "state_changed_at": now}
    if to_state == S.IN_PROGRESS:
        values["started_at"] = transfer.started_at or now
    if to_state == S.COMPLETED:
        values["completed_at"] = now
    if to_state == S.FAILED and detail:
        values["error"] = detail
    changed = Transfer.objects.filter(pk=transfer.pk, state=current).update(**values)
    if not changed:
        return False
    transfer.refresh_from_db()
    record(
        transfer=transfer,
        kind="state",
        actor=actor,
        now=now,
        from_state=current,
        to_state=to_state,
        contact=contact,
        detail=detail,
    )
    live.publish_transfer(transfer, force=True)
    if transfer.workload_id is not None:
        # After commit, in its own transaction: a runner acknowledging a chunk holds
        # the transfer row, and a workload action holds the workload row first.
        workload_id = transfer.workload_id
        transaction.on_commit(
            lambda: workload_follow(workload_id=workload_id, actor=actor, now=now)
        )
    return True


def move_strict(
    *, transfer: Transfer, to_state: str, actor: str, now: datetime, detail: str
) -> None:
    """``move`` for requests: a refused change is a 409 naming both states."""
    if not move(transfer=transfer, to_state=to_state, actor=actor, now=now, detail=detail):
        transfer.refresh_from_db()
        raise InvalidTransition(
            f"transfer {transfer.pk} is {transfer.state}: it cannot become {to_state}",
            fields={"state": f"{transfer.state} -> {to_state} is not allowed"},
        )


def workload_move(
    *, workload: Workload, to_state: str, actor: str, now: datetime, detail: str = ""
) -> bool:
    if workload.state == to_state or workload.state in TERMINAL_WORKLOAD_STATES:
        return False
    changed = (
        Workload.objects.filter(pk=workload.pk, state=workload.state)
        .exclude(state__in=TERMINAL_WORKLOAD_STATES)
        .update(
            state=to_state,
            state_changed_at=now,
            completed_at=now if to_state in TERMINAL_WORKLOAD_STATES else None,
            **({"detail": detail} if detail else {}),
        )
    )
    if not changed:
        return False
    WorkloadEvent.objects.create(
        workload=workload,
        at=now,
        actor=actor[:150],
        from_state=workload.state,
        to_state=to_state,
        detail=detail,
    )
    workload.refresh_from_db()
    return True


def workload_follow(*, workload_id: int, actor: str, now: datetime) -> None:
    """Derive a workload's state from its transfers after one of them changed.

    An upload moving makes it ``uploading``; every upload completed, ``staged``; an
    upload failed or cancelled (the job cannot run without it) or a result downlink
    failed, ``failed``; every result downlink completed, ``completed``. ``running``
    and ``downlinking`` come from the node's reports (``workload_report``).
    """
    workload = Workload.objects.filter(pk=workload_id).first()
    if workload is None or workload.state in TERMINAL_WORKLOAD_STATES:
        return
    rows = list(
        Transfer.objects.filter(workload_id=workload_id).values("direction", "state", "name")
    )
    ups = [r for r in rows if r["direction"] == TransferDirection.UP]
    downs = [r for r in rows if r["direction"] == TransferDirection.DOWN]
    broken = [
        r
        for r in rows
        if r["state"] == S.FAILED
        or (r["state"] == S.CANCELLED and r["direction"] == TransferDirection.UP)
    ]
    if broken:
        first = broken[0]
        workload_move(
            workload=workload,
            to_state=WorkloadState.FAILED,
            actor=actor,
            now=now,
            detail=f"{first['direction']} {first['name']} {first['state']}",
        )
        return
    if workload.state in (WorkloadState.QUEUED, WorkloadState.UPLOADING):
        if ups and all(r["state"] == S.COMPLETED for r in ups):
            workload_move(workload=workload, to_state=WorkloadState.STAGED, actor=actor, now=now)
        elif workload.state == WorkloadState.QUEUED and any(
            r["state"] not in (S.QUEUED, S.PLANNED, S.PAUSED) for r in ups
        ):
            workload_move(workload=workload, to_state=WorkloadState.UPLOADING, actor=actor, now=now)
    elif workload.state == WorkloadState.DOWNLINKING:
        live_downs = [r for r in downs if r["state"] != S.CANCELLED]
        if downs and not live_downs:
            workload_move(
                workload=workload,
                to_state=WorkloadState.FAILED,
                actor=actor,
                now=now,
                detail="every result downlink was cancelled",
            )
        elif live_downs and all(r["state"] == S.COMPLETED for r in live_downs):
            workload_move(workload=workload, to_state=WorkloadState.COMPLETED, actor=actor, now=now)
