"""Submitting transfers and workloads, preparing uploads, the node's job reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops.fleet.models import Spacecraft
from scheduling import live
from scheduling.exceptions import InvalidRequest, InvalidTransition, ReplayConflict
from scheduling.models import (
    TERMINAL_WORKLOAD_STATES,
    Transfer,
    TransferChunk,
    TransferDirection,
    TransferKind,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)
from scheduling.transfer_services._common import (
    move,
    outgoing_dir,
    record,
    workload_follow,
    workload_move,
)
from scheduling.transfer_services._plan import transfer_plan_refresh
from scheduling.transfers import chunks

CHUNK_BATCH = 5000
MIN_CHUNK_BYTES = 4096
MAX_CHUNK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One file of a submission, as the caller states it."""

    name: str
    kind: str = TransferKind.OTHER
    size_bytes: int | None = None
    sha256: str = ""
    source: str = ""
    priority: int | None = None
    deadline: datetime | None = None
    chunk_size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    transfer: Transfer
    created: bool  # False: a replay of an earlier submission (same client_ref)
    needs_prepare: bool  # an upload too large to hash inline: enqueue transfer_prepare


def _check_common(
    *, spec: TransferSpec, direction: str, prefix: str, now: datetime
) -> tuple[int, int, datetime | None]:
    """(priority, chunk size, deadline) after checking what every transfer needs."""
    fields: dict[str, str] = {}
    if direction not in TransferDirection.values:
        fields[f"{prefix}direction"] = "must be up or down"
    if not chunks.valid_name(spec.name):
        fields[f"{prefix}name"] = (
            "a relative file name: letters, digits, '._+-', '/'-separated, no '..'"
        )
    if spec.kind not in TransferKind.values:
        fields[f"{prefix}kind"] = f"one of {', '.join(TransferKind.values)}"
    priority = 5 if spec.priority is None else spec.priority
    if not 1 <= priority <= 10:
        fields[f"{prefix}priority"] = "from 1 (lowest) to 10 (highest)"
    chunk = spec.chunk_size_bytes or int(settings.ZENITH_CHUNK_BYTES)
    if not MIN_CHUNK_BYTES <= chunk <= MAX_CHUNK_BYTES:
        fields[f"{prefix}chunk_size_bytes"] = f"from {MIN_CHUNK_BYTES} to {MAX_CHUNK_BYTES}"
    if spec.sha256 and not chunks.valid_sha256(spec.sha256):
        fields[f"{prefix}sha256"] = "64 lowercase hexadecimal digits"
    if spec.deadline is not None:
        if spec.deadline.tzinfo is None:
            fields[f"{prefix}deadline"] = "must carry a timezone"
        elif spec.deadline <= now:
            fields[f"{prefix}deadline"] = "must be in the future"
    if spec.size_bytes is not None and spec.size_bytes < 1:
        fields[f"{prefix}size_bytes"] = "at least 1 byte"
    if fields:
        raise InvalidRequest(next(iter(fields.values())), fields=fields)
    return priority, chunk, spec.deadline


def _check_upload(
    *, spec: TransferSpec, chunk: int, prefix: str
) -> tuple[int, str, list[str] | None]:
    """(size, sha256, chunk hashes or None when left to ``transfer_prepare``)."""
    if not spec.source:
        raise InvalidRequest(
            "an upload needs its source file",
            fields={f"{prefix}source": "a path under the outgoing directory"},
        )
    path = chunks.inside(outgoing_dir(), spec.source)
    if path is None:
        raise InvalidRequest(
            "source outside the outgoing directory",
            fields={f"{prefix}source": "must stay inside the outgoing directory"},
        )
    if not path.is_file():
        raise InvalidRequest(
            f"no file {spec.source!r} in the outgoing directory",
            fields={f"{prefix}source": "no such file"},
        )
    size = path.stat().st_size
    if size < 1:
        raise InvalidRequest("empty source file", fields={f"{prefix}source": "file is empty"})
    if spec.size_bytes is not None and spec.size_bytes != size:
        raise InvalidRequest(
            f"size_bytes {spec.size_bytes} but the file holds {size}",
            fields={f"{prefix}size_bytes": f"the source file holds {size} bytes"},
        )
    if size > int(settings.ZENITH_INLINE_HASH_BYTES):
        if not spec.sha256:
            raise InvalidRequest(
                "a large upload needs its sha256",
                fields={f"{prefix}sha256": "required above the inline hashing size"},
            )
        return size, spec.sha256, None
    whole, per_chunk, read = chunks.hash_file(path, chunk)
    if read != size:
        raise InvalidRequest("source changed while read", fields={f"{prefix}source": "changing"})
    if spec.sha256 and spec.sha256 != whole:
        raise InvalidRequest(
            "sha256 does not match the source file",
            fields={f"{prefix}sha256": f"the source file's SHA-256 is {whole}"},
        )
    return size, whole, per_chunk


def _create(
    *,
    spacecraft: Spacecraft,
    workload: Workload | None,
    direction: str,
    spec: TransferSpec,
    size: int,
    sha256: str,
    priority: int,
    chunk: int,
    per_chunk: list[str] | None,
    client_ref: str,
    actor: str,
    now: datetime,
) -> Transfer:
    count = chunks.chunk_count(size, chunk)
    row = Transfer.objects.create(
        spacecraft=spacecraft,
        workload=workload,
        direction=direction,
        kind=spec.kind,
        name=spec.name,
        size_bytes=size,
        sha256=sha256,
        chunk_size_bytes=chunk,
        chunk_count=count,
        priority=priority,
        deadline=spec.deadline,
        source=spec.source if direction == TransferDirection.UP else "",
        prepared=direction == TransferDirection.DOWN or per_chunk is not None,
        prepare_progress=1.0 if direction == TransferDirection.DOWN or per_chunk else 0.0,
        client_ref=client_ref,
        created_by=actor[:150],
        state_changed_at=now,
    )
    batch: list[TransferChunk] = []
    for c in chunks.layout(size, chunk):
        batch.append(
            TransferChunk(
                transfer=row,
                index=c.index,
                offset=c.offset,
                size=c.size,
                sha256=per_chunk[c.index] if per_chunk is not None else "",
            )
        )
        if len(batch) >= CHUNK_BATCH:
            TransferChunk.objects.bulk_create(batch)
            batch = []
    TransferChunk.objects.bulk_create(batch)
    record(
        transfer=row,
        kind="state",
        actor=actor,
        now=now,
        to_state=TransferState.QUEUED,
        detail=f"submitted: {size} bytes in {count} chunks of {chunk}",
    )
    live.publish_transfer(row, force=True)
    return row


def _prepare_spec(
    *, spec: TransferSpec, direction: str, prefix: str, now: datetime
) -> tuple[int, int, int, str, list[str] | None]:
    priority, chunk, _ = _check_common(spec=spec, direction=direction, prefix=prefix, now=now)
    if direction == TransferDirection.UP:
        size, sha256, per_chunk = _check_upload(spec=spec, chunk=chunk, prefix=prefix)
    else:
        fields: dict[str, str] = {}
        if spec.source:
            fields[f"{prefix}source"] = "a downlink has no source on the ground"
        if spec.size_bytes is None:
            fields[f"{prefix}size_bytes"] = "required for a downlink"
        if not spec.sha256:
            fields[f"{prefix}sha256"] = "required for a downlink (the node's checksum)"
        if fields:
            raise InvalidRequest(next(iter(fields.values())), fields=fields)
        assert spec.size_bytes is not None
        size, sha256, per_chunk = spec.size_bytes, spec.sha256, None
    if chunks.chunk_count(size, chunk) > int(settings.ZENITH_MAX_CHUNKS):
        raise InvalidRequest(
            "too many chunks", fields={f"{prefix}chunk_size_bytes": "larger chunks needed"}
        )
    return priority, chunk, size, sha256, per_chunk


def _same(row: Transfer, *, direction: str, spec: TransferSpec, size: int, sha256: str) -> bool:
    return (row.direction, row.name, row.size_bytes, row.sha256) == (
        direction,
        spec.name,
        size,
        sha256,
    )


def transfer_submit(
    *,
    spacecraft: Spacecraft,
    direction: str,
    spec: TransferSpec,
    actor: str,
    client_ref: str = "",
    now: datetime | None = None,
) -> Submitted:
    """Queue one transfer (outside a workload).

    Uploads read ``spec.source`` under the outgoing directory; one up to
    ``ZENITH_INLINE_HASH_BYTES`` is hashed now (a wrong ``sha256`` is a 400 and nothing
    is stored), a larger one is hashed by ``transfer_prepare`` (``needs_prepare``).
    Downlinks state the node's file: name, size and SHA-256. A ``client_ref`` seen
    before for this spacecraft returns the earlier transfer when the content is the
    same (``created`` False) and raises :class:`ReplayConflict` otherwise.
    """
    now = now or timezone.now()
    if not spacecraft.active:
        raise InvalidRequest("spacecraft inactive", fields={"spacecraft": "is inactive"})
    if client_ref:
        earlier = Transfer.objects.filter(spacecraft=spacecraft, client_ref=client_ref).first()
        if earlier is not None:
            return _replay(earlier, direction=direction, spec=spec)
    priority, chunk, size, sha256, per_chunk = _prepare_spec(
        spec=spec, direction=direction, prefix="", now=now
    )
    with transaction.atomic():
        row = _create(
            spacecraft=spacecraft,
            workload=None,
            direction=direction,
            spec=spec,
            size=size,
            sha256=sha256,
            priority=priority,
            chunk=chunk,
            per_chunk=per_chunk,
            client_ref=client_ref,
            actor=actor,
            now=now,
        )
    transfer_plan_refresh(spacecraft_ids=[spacecraft.pk], now=now)
    row.refresh_from_db()
    return Submitted(row, True, not row.prepared)


def _replay(earlier: Transfer, *, direction: str, spec: TransferSpec) -> Submitted:
    size = spec.size_bytes if spec.size_bytes is not None else earlier.size_bytes
    sha = spec.sha256 or earlier.sha256
    if not _same(earlier, direction=direction, spec=spec, size=size, sha256=sha):
        raise ReplayConflict(
            f"client_ref already names transfer {earlier.pk} with other content",
            fields={"client_ref": f"used by transfer {earlier.pk}"},
        )
    return Submitted(earlier, False, False)


def transfer_prepare(
    *, transfer_id: int, progress: Callable[[float], None] | None = None
) -> Transfer:
    """Hash an upload's chunks (once), checking its size and SHA-256 against the file.

    A mismatch fails the transfer, naming what differs. Idempotent: a prepared
    transfer is returned as it is.
    """
    row = Transfer.objects.get(pk=transfer_id)
    if row.prepared or row.direction != TransferDirection.UP:
        return row
    path = chunks.inside(outgoing_dir(), row.source)
    now = timezone.now()
    problem = ""
    per_chunk: list[str] = []
    if path is None or not path.is_file():
        problem = f"source {row.source!r} is gone"
    else:
        last = [0.0]

        def seen(done: int) -> None:
            fraction = done / row.size_bytes
            if fraction - last[0] >= 0.05:
                last[0] = fraction
                Transfer.objects.filter(pk=row.pk).update(prepare_progress=min(fraction, 1.0))
                if progress is not None:
                    progress(fraction)

        try:
            whole, per_chunk, size = chunks.hash_file(path, row.chunk_size_bytes, progress=seen)
        except OSError as exc:
            whole, per_chunk, size = "", [], -1
            problem = f"source {row.source!r} unreadable: {exc}"
        if not problem and size != row.size_bytes:
            problem = f"source holds {size} bytes, {row.size_bytes} were declared"
        elif not problem and whole != row.sha256:
            problem = f"source SHA-256 is {whole}, {row.sha256} was declared"
    with transaction.atomic():
        row = Transfer.objects.select_for_update().get(pk=transfer_id)
        if row.prepared:
            return row
        if problem:
            move(
                transfer=row,
                to_state=TransferState.FAILED,
                actor="prepare",
                now=now,
                detail=problem,
            )
            return row
        by_index = {c.index: c for c in row.chunks.all()}
        for index, digest in enumerate(per_chunk):
            by_index[index].sha256 = digest
        TransferChunk.objects.bulk_update(
            list(by_index.values()), ["sha256"], batch_size=CHUNK_BATCH
        )
        row.prepared = True
        row.prepare_progress = 1.0
        row.save(update_fields=["prepared", "prepare_progress"])
        record(transfer=row, kind="prepare", actor="prepare", now=now, detail="chunks hashed")
    transfer_plan_refresh(spacecraft_ids=[row.spacecraft_id], now=now)
    row.refresh_from_db()
    return row


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
) -> tuple[Workload, bool, list[int]]:
    """Queue a workload and its uploads, all or nothing.

    Each upload takes the workload's priority and deadline unless it states its own.
    Returns (workload, created, ids of uploads needing ``transfer_prepare``). A replayed
    ``client_ref`` returns the earlier workload when name and upload names match.
    """
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
            (spec, _prepare_spec(spec=spec, direction="up", prefix=f"uploads[{i}].", now=now))
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
            row = _create(
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
            prio, chunk, size, sha256, _ = _prepare_spec(
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
                _create(
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
