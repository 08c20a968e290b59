"""Workloads: submitting one with its uploads (all or nothing, idempotent by
``client_ref``) and the node's job report, which creates the result downlinks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ops.edge.access import check_spacecraft_allowed
from ops.fleet.models import Spacecraft
from scheduling.exceptions import InvalidRequest, InvalidTransition, ReplayConflict
from scheduling.models import (
    TERMINAL_WORKLOAD_STATES,
    Transfer,
    TransferDirection,
    TransferKind,
    Workload,
    WorkloadEvent,
    WorkloadState,
)
from scheduling.services.transfers.plan import transfer_plan_refresh
from scheduling.services.transfers.states import workload_follow, workload_move
from scheduling.services.transfers.submit import TransferSpec, prepare_spec, transfer_create


def workload_submit(
    *,
    spacecraft: Spacecraft,
    name: str,
    job: dict[str, Any],
    uploads: Sequence[TransferSpec],
    actor: str,
    priority: int = 5,
    deadline: datetime | None = None,
    client_ref: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> tuple[Workload, bool, list[int]]:
    """Queue a workload and its uploads, all or nothing.

    Each upload takes the workload's priority and deadline unless it states its own.
    Returns (workload, created, ids of uploads needing ``transfer_prepare``). A replayed
    ``client_ref`` returns the earlier workload when name and upload names match.
    """
    check_spacecraft_allowed(
        allowed_spacecraft_ids=allowed_spacecraft_ids, spacecraft=[spacecraft], error=InvalidRequest
    )
    now = now or timezone.now()
    fields: dict[str, str] = {}
    if not name or len(name) > 128:
        fields["name"] = "1 to 128 characters"
    if not 1 <= priority <= 10:
        fields["priority"] = "from 1 (lowest) to 10 (highest)"
    if deadline is not None and (deadline.tzinfo is None or deadline <= now):
        fields["deadline"] = "an aware time in the future"
    if not spacecraft.active:
        fields["spacecraft"] = "is inactive"
    names = [u.name for u in uploads]
    if len(set(names)) != len(names):
        fields["uploads"] = "file names must be unique in a workload"
    if fields:
        raise InvalidRequest(next(iter(fields.values())), fields=fields)
    if client_ref:
        earlier = Workload.objects.filter(spacecraft=spacecraft, client_ref=client_ref).first()
        if earlier is not None:
            had = sorted(earlier.transfers.filter(direction="up").values_list("name", flat=True))
            if earlier.name != name or had != sorted(names):
                raise ReplayConflict(
                    f"client_ref already names workload {earlier.pk} with other content",
                    fields={"client_ref": f"used by workload {earlier.pk}"},
                )
            return earlier, False, []
    checked = []
    for i, spec in enumerate(uploads):
        spec = TransferSpec(
            name=spec.name,
            kind=spec.kind,
            size_bytes=spec.size_bytes,
            sha256=spec.sha256,
            source=spec.source,
            priority=spec.priority if spec.priority is not None else priority,
            deadline=spec.deadline if spec.deadline is not None else deadline,
            chunk_size_bytes=spec.chunk_size_bytes,
        )
        checked.append(
            (spec, prepare_spec(spec=spec, direction="up", prefix=f"uploads[{i}].", now=now))
        )
    to_prepare: list[int] = []
    with transaction.atomic():
        workload = Workload.objects.create(
            spacecraft=spacecraft,
            name=name,
            job=job,
            priority=priority,
            deadline=deadline,
            client_ref=client_ref,
            submitted_by=actor[:150],
            state_changed_at=now,
        )
        WorkloadEvent.objects.create(
            workload=workload,
            at=now,
            actor=actor[:150],
            to_state=WorkloadState.QUEUED,
            detail=f"submitted with {len(uploads)} upload(s)",
        )
        for spec, (prio, chunk, size, sha256, per_chunk) in checked:
            row = transfer_create(
                spacecraft=spacecraft,
                workload=workload,
                direction="up",
                spec=spec,
                size=size,
                sha256=sha256,
                priority=prio,
                chunk=chunk,
                per_chunk=per_chunk,
                client_ref="",
                actor=actor,
                now=now,
            )
            if not row.prepared:
                to_prepare.append(row.pk)
        if not uploads:
            workload_move(workload=workload, to_state=WorkloadState.STAGED, actor=actor, now=now)
    transfer_plan_refresh(spacecraft_ids=[spacecraft.pk], now=now)
    return workload, True, to_prepare


@dataclass(frozen=True, slots=True)
class ResultSpec:
    name: str
    size_bytes: int
    sha256: str
    kind: str = TransferKind.RESULT


def workload_report(
    *,
    workload: Workload,
    state: str,
    actor: str,
    results: Sequence[ResultSpec] = (),
    detail: str = "",
    now: datetime | None = None,
) -> tuple[Workload, list[Transfer]]:
    """The node's word on its job: ``running``, ``succeeded`` (with its result files) or
    ``failed``. Success queues one downlink per result (the workload's priority and
    deadline). Idempotent: the same report again changes nothing; a result already
    reported with another size or checksum is a :class:`ReplayConflict`.
    """
    now = now or timezone.now()
    if state not in ("running", "succeeded", "failed"):
        raise InvalidRequest("bad state", fields={"state": "running, succeeded or failed"})
    names = [r.name for r in results]
    if len(set(names)) != len(names):
        raise InvalidRequest("duplicate results", fields={"results": "names must be unique"})
    if state != "succeeded" and results:
        raise InvalidRequest("results without success", fields={"results": "only on succeeded"})
    created: list[Transfer] = []
    with transaction.atomic():
        workload = Workload.objects.select_for_update().get(pk=workload.pk)
        if workload.state in TERMINAL_WORKLOAD_STATES and workload.state != WorkloadState.COMPLETED:
            raise InvalidTransition(
                f"workload {workload.pk} is {workload.state}",
                fields={"state": f"{workload.state}: no more reports"},
            )
        if workload.state in (WorkloadState.QUEUED, WorkloadState.UPLOADING):
            # The job cannot have run: its inputs are not all verified on the node yet.
            raise InvalidTransition(
                f"workload {workload.pk} is {workload.state}: its uploads are not all verified",
                fields={"state": f"{workload.state}: a job report needs the workload staged"},
            )
        if state == "running":
            if workload.state == WorkloadState.STAGED:
                workload_move(
                    workload=workload,
                    to_state=WorkloadState.RUNNING,
                    actor=actor,
                    now=now,
                    detail=detail,
                )
            return workload, created
        if state == "failed":
            workload_move(
                workload=workload,
                to_state=WorkloadState.FAILED,
                actor=actor,
                now=now,
                detail=detail or "job failed on the node",
            )
            return workload, created
        existing = {t.name: t for t in workload.transfers.filter(direction=TransferDirection.DOWN)}
        late = [n for n in names if n not in existing]
        if workload.state == WorkloadState.COMPLETED and late:
            raise InvalidTransition(
                f"workload {workload.pk} is completed: results {', '.join(late)} come too late",
                fields={"results": "the workload is completed"},
            )
        for i, r in enumerate(results):
            spec = TransferSpec(
                name=r.name,
                kind=r.kind,
                size_bytes=r.size_bytes,
                sha256=r.sha256,
                priority=workload.priority,
                deadline=workload.deadline
                if workload.deadline and workload.deadline > now
                else None,
            )
            prio, chunk, size, sha256, _ = prepare_spec(
                spec=spec, direction="down", prefix=f"results[{i}].", now=now
            )
            before = existing.get(r.name)
            if before is not None:
                if (before.size_bytes, before.sha256) != (size, sha256):
                    raise ReplayConflict(
                        f"result {r.name!r} was reported with another size or checksum",
                        fields={f"results[{i}]": f"differs from transfer {before.pk}"},
                    )
                continue
            created.append(
                transfer_create(
                    spacecraft=workload.spacecraft,
                    workload=workload,
                    direction="down",
                    spec=spec,
                    size=size,
                    sha256=sha256,
                    priority=prio,
                    chunk=chunk,
                    per_chunk=None,
                    client_ref="",
                    actor=actor,
                    now=now,
                )
            )
        if workload.state not in TERMINAL_WORKLOAD_STATES:
            target = WorkloadState.DOWNLINKING if (existing or created) else WorkloadState.COMPLETED
            workload_move(workload=workload, to_state=target, actor=actor, now=now, detail=detail)
            workload_follow(workload_id=workload.pk, actor=actor, now=now)
        workload.refresh_from_db()
    if created:
        transfer_plan_refresh(spacecraft_ids=[workload.spacecraft_id], now=now)
    return workload, created
