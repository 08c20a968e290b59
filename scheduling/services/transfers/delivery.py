"""Chunk bookkeeping shared by the contact runner: claims, acknowledgements, verification.

Every write here is a conditional update, so a chunk is counted once however many
runners (a redelivered task, a second radio) touch it, and a file completes once.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import F, Q

from scheduling import live
from scheduling.links import chunks
from scheduling.models import (
    MOVABLE_TRANSFER_STATES,
    Contact,
    Transfer,
    TransferChunk,
    TransferDirection,
    TransferState,
)
from scheduling.services.transfers.states import move, record
from scheduling.storage import final_relative, incoming_dir, part_path

MAX_VERIFY_FAILURES = 3
MAX_CHUNK_ATTEMPTS = 25


def movable(transfer_id: int) -> bool:
    state = Transfer.objects.filter(pk=transfer_id).values_list("state", flat=True).first()
    return state in MOVABLE_TRANSFER_STATES


def claim(
    *, contact: Contact, direction: str, now: datetime, limit: int, claim_s: float
) -> tuple[Transfer, list[TransferChunk]] | None:
    """The next chunks to send over ``contact`` in ``direction``, claimed for it.

    Transfers in the spacecraft's queue order (the planner's rank, then deadline,
    priority, age); chunks in index order, skipping those on the air over another
    contact. A transfer with nothing pending is moved on to ``verifying``.
    """
    candidates = list(
        Transfer.objects.filter(
            spacecraft_id=contact.spacecraft_id,
            direction=direction,
            state__in=MOVABLE_TRANSFER_STATES,
            prepared=True,
        ).order_by(
            F("plan_rank").asc(nulls_last=True),
            F("deadline").asc(nulls_last=True),
            "-priority",
            "created_at",
            "pk",
        )[:20]
    )
    for t in candidates:
        free = (
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claim_contact=contact.pk)
        )
        with transaction.atomic():
            rows = list(
                TransferChunk.objects.select_for_update(skip_locked=True)
                .filter(transfer=t, acked_at__isnull=True)
                .filter(free)
                .order_by("index")[:limit]
            )
            if rows:
                TransferChunk.objects.filter(pk__in=[r.pk for r in rows]).update(
                    claimed_until=now + timedelta(seconds=claim_s), claim_contact=contact.pk
                )
                return t, rows
        if not TransferChunk.objects.filter(transfer=t, acked_at__isnull=True).exists():
            move(
                transfer=t,
                to_state=TransferState.VERIFYING,
                actor="link",
                now=now,
                detail="every chunk acknowledged",
                expect=MOVABLE_TRANSFER_STATES,
            )
    return None


def hold(*, chunk: TransferChunk, contact: Contact, now: datetime, seconds: float) -> bool:
    """Extend this contact's claim on a chunk before sending it; False when the claim
    lapsed and another contact holds it now (it must not be sent twice)."""
    return bool(
        TransferChunk.objects.filter(pk=chunk.pk, acked_at__isnull=True)
        .filter(Q(claim_contact=contact.pk) | Q(claim_contact__isnull=True))
        .update(claimed_until=now + timedelta(seconds=seconds), claim_contact=contact.pk)
    )


def count_attempt(chunk: TransferChunk) -> int:
    TransferChunk.objects.filter(pk=chunk.pk).update(attempts=F("attempts") + 1)
    chunk.attempts += 1
    return chunk.attempts


def retransmit(
    *, transfer: Transfer, chunk: TransferChunk, contact: Contact, why: str, now: datetime
) -> bool:
    """Count a failed transmission; False (and the transfer failed) past the attempt cap."""
    Transfer.objects.filter(pk=transfer.pk).update(retransmissions=F("retransmissions") + 1)
    record(
        transfer=transfer,
        kind="retransmit",
        actor="link",
        now=now,
        contact=contact,
        detail=f"chunk {chunk.index} attempt {chunk.attempts}: {why}",
    )
    if chunk.attempts >= MAX_CHUNK_ATTEMPTS:
        move(
            transfer=transfer,
            to_state=TransferState.FAILED,
            actor="link",
            now=now,
            contact=contact,
            detail=f"chunk {chunk.index} failed {chunk.attempts} times ({why})",
        )
        return False
    return True


def acknowledge(
    *, transfer: Transfer, chunk: TransferChunk, contact: Contact, sha256: str, now: datetime
) -> Transfer:
    """Count an acknowledged chunk (once); the first one starts the transfer, the last
    one sends it to verification."""
    with transaction.atomic():
        # Transfer row first, then its chunks: the order every transfer write takes.
        Transfer.objects.select_for_update().filter(pk=transfer.pk).values_list("pk").first()
        counted = TransferChunk.objects.filter(pk=chunk.pk, acked_at__isnull=True).update(
            acked_at=now, contact=contact, claimed_until=None, claim_contact=None, sha256=sha256
        )
        if counted:
            Transfer.objects.filter(pk=transfer.pk).update(
                bytes_done=F("bytes_done") + chunk.size, chunks_done=F("chunks_done") + 1
            )
        transfer.refresh_from_db()
        if transfer.state in (TransferState.QUEUED, TransferState.PLANNED):
            move(
                transfer=transfer,
                to_state=TransferState.IN_PROGRESS,
                actor="link",
                now=now,
                contact=contact,
                detail=f"moving over contact {contact.pk} (station {contact.station.slug})",
                expect=(TransferState.QUEUED, TransferState.PLANNED),
            )
        if counted and transfer.chunks_done >= transfer.chunk_count:
            move(
                transfer=transfer,
                to_state=TransferState.VERIFYING,
                actor="link",
                now=now,
                contact=contact,
                detail="every chunk acknowledged",
                expect=MOVABLE_TRANSFER_STATES,
            )
        elif counted:
            live.publish_transfer(transfer)
    return transfer


def _restart(*, transfer: Transfer, contact: Contact | None, why: str, now: datetime) -> None:
    """A whole-file check failed: every chunk goes again (or the transfer fails)."""
    with transaction.atomic():
        row = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if row.state != TransferState.VERIFYING:
            return
        failures = row.verify_failures + 1
        Transfer.objects.filter(pk=row.pk).update(verify_failures=failures)
        record(transfer=row, kind="verify", actor="link", now=now, contact=contact, detail=why)
        if failures >= MAX_VERIFY_FAILURES:
            move(
                transfer=row,
                to_state=TransferState.FAILED,
                actor="link",
                now=now,
                contact=contact,
                detail=f"whole-file check failed {failures} times: {why}",
            )
            return
        TransferChunk.objects.filter(transfer=row).update(
            acked_at=None, contact=None, claimed_until=None, claim_contact=None
        )
        Transfer.objects.filter(pk=row.pk).update(bytes_done=0, chunks_done=0)
        move(
            transfer=row,
            to_state=TransferState.IN_PROGRESS,
            actor="link",
            now=now,
            contact=contact,
            detail=f"sending every chunk again: {why}",
            expect=(TransferState.VERIFYING,),
        )


def complete_upload(
    *, transfer: Transfer, node_sha256: str, contact: Contact, now: datetime
) -> bool:
    if node_sha256 == transfer.sha256:
        return _verified(
            transfer=transfer,
            contact=contact,
            now=now,
            check=f"node holds the file: sha256 {node_sha256}",
            outcome="verified on the node",
        )
    _restart(
        transfer=transfer,
        contact=contact,
        why=f"node's SHA-256 {node_sha256 or '(no file)'} is not {transfer.sha256}",
        now=now,
    )
    return False


def final_path(transfer: Transfer) -> Path:
    return incoming_dir() / final_relative(transfer)


def verify_downlink(*, transfer: Transfer, contact: Contact | None, now: datetime) -> bool:
    """Check an assembled downlink against its SHA-256 and put it in place (once)."""
    if transfer.direction != TransferDirection.DOWN:
        return False
    with transaction.atomic():
        # One checker at a time (two radios of a spacecraft may both get here): the
        # row lock is held while the file is checked and moved into place.
        row = Transfer.objects.select_for_update().filter(pk=transfer.pk).first()
        if row is None or row.state != TransferState.VERIFYING:
            return False
        return _check_downlink(transfer=row, contact=contact, now=now)


def _check_downlink(*, transfer: Transfer, contact: Contact | None, now: datetime) -> bool:
    part, final = part_path(transfer), final_path(transfer)
    path = part if part.exists() else final
    seen = chunks.file_sha256(path) if path.exists() else ""
    if path.exists() and path.stat().st_size != transfer.size_bytes:
        seen = f"{seen} ({path.stat().st_size} bytes)"
    if seen != transfer.sha256:
        _restart(
            transfer=transfer,
            contact=contact,
            why=f"assembled file's SHA-256 {seen or '(no file)'} is not {transfer.sha256}",
            now=now,
        )
        return False
    if path == part:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
    Transfer.objects.filter(pk=transfer.pk).update(stored_path=final_relative(transfer))
    return _verified(
        transfer=transfer,
        contact=contact,
        now=now,
        check=f"file verified: sha256 {seen}",
        outcome=f"stored as {final_relative(transfer)}",
    )


def _verified(
    *, transfer: Transfer, contact: Contact | None, now: datetime, check: str, outcome: str
) -> bool:
    """Record the passed whole-file check and complete the transfer (once)."""
    record(transfer=transfer, kind="verify", actor="link", now=now, contact=contact, detail=check)
    return move(
        transfer=transfer,
        to_state=TransferState.COMPLETED,
        actor="link",
        now=now,
        contact=contact,
        detail=outcome,
        expect=(TransferState.VERIFYING,),
    )
