"""Submitting transfers (checked, hashed, idempotent by ``client_ref``) and preparing
large uploads (hashing their chunks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops.edge.access import check_spacecraft_allowed
from ops.fleet.models import Spacecraft
from scheduling import live
from scheduling.exceptions import InvalidRequest, ReplayConflict
from scheduling.links import chunks
from scheduling.models import (
    Transfer,
    TransferChunk,
    TransferDirection,
    TransferKind,
    TransferState,
    Workload,
)
from scheduling.services.transfers.plan import transfer_plan_refresh
from scheduling.services.transfers.states import move, record
from scheduling.storage import outgoing_dir

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


def transfer_create(
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


def prepare_spec(
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
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Submitted:
    """Queue one transfer (outside a workload).

    Uploads read ``spec.source`` under the outgoing directory; one up to
    ``ZENITH_INLINE_HASH_BYTES`` is hashed now (a wrong ``sha256`` is a 400 and nothing
    is stored), a larger one is hashed by ``transfer_prepare`` (``needs_prepare``).
    Downlinks state the node's file: name, size and SHA-256. A ``client_ref`` seen
    before for this spacecraft returns the earlier transfer when the content is the
    same (``created`` False) and raises :class:`ReplayConflict` otherwise.
    """
    check_spacecraft_allowed(
        allowed_spacecraft_ids=allowed_spacecraft_ids, spacecraft=[spacecraft], error=InvalidRequest
    )
    now = now or timezone.now()
    if not spacecraft.active:
        raise InvalidRequest("spacecraft inactive", fields={"spacecraft": "is inactive"})
    if client_ref:
        earlier = Transfer.objects.filter(spacecraft=spacecraft, client_ref=client_ref).first()
        if earlier is not None:
            return _replay(earlier, direction=direction, spec=spec)
    priority, chunk, size, sha256, per_chunk = prepare_spec(
        spec=spec, direction=direction, prefix="", now=now
    )
    with transaction.atomic():
        row = transfer_create(
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
