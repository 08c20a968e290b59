"""Transfer and workload reads: the queue, one transfer with its plan and history,
a workload with its transfers, and a completed downlink's verified content."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import Prefetch, QuerySet

from ops.edge.access import only_allowed
from orbital import timescales
from scheduling.exceptions import ContentUnavailable
from scheduling.links import chunks
from scheduling.models import (
    MOVABLE_TRANSFER_STATES,
    Transfer,
    TransferAllocation,
    TransferDirection,
    TransferEvent,
    TransferState,
    Workload,
    WorkloadEvent,
)
from scheduling.planners import contacts as planner
from scheduling.selectors import get_one
from scheduling.storage import incoming_dir


def transfer_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Transfer]:
    """Transfers, newest first, with their spacecraft; only the caller's spacecraft when it
    is restricted. The API filters them (``TransferFilter``)."""
    qs = Transfer.objects.select_related("spacecraft").order_by("-created_at", "-pk")
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


def transfer_get(
    *, transfer_id: int, allowed_spacecraft_ids: frozenset[int] | None = None
) -> Transfer:
    """One transfer with its planned contacts (in time order) and events (oldest first)."""
    rows = transfer_list(allowed_spacecraft_ids=allowed_spacecraft_ids).prefetch_related(
        Prefetch(
            "allocations",
            queryset=TransferAllocation.objects.select_related(
                "contact", "contact__station"
            ).order_by("starts_at", "sequence"),
        ),
        Prefetch("events", queryset=TransferEvent.objects.order_by("at", "pk")),
    )
    return get_one(rows, pk=transfer_id, noun="transfer")


def workload_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Workload]:
    """Workloads, newest first, with their transfers; only the caller's spacecraft when it
    is restricted. The API filters them (``WorkloadFilter``)."""
    qs = (
        Workload.objects.select_related("spacecraft")
        .prefetch_related(
            Prefetch(
                "transfers", queryset=Transfer.objects.select_related("spacecraft").order_by("pk")
            )
        )
        .order_by("-created_at", "-pk")
    )
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


def workload_get(
    *, workload_id: int, allowed_spacecraft_ids: frozenset[int] | None = None
) -> Workload:
    """One workload with its transfers and events (oldest first)."""
    events = Prefetch("events", queryset=WorkloadEvent.objects.order_by("at", "pk"))
    rows = workload_list(allowed_spacecraft_ids=allowed_spacecraft_ids).prefetch_related(events)
    return get_one(rows, pk=workload_id, noun="workload")


def downlink_content(*, transfer: Transfer) -> Path:
    """The verified file of a completed downlink: checked against its SHA-256 now.

    :class:`ContentUnavailable` when the transfer is not a completed downlink, or the
    stored file is missing or no longer matches (it is never served then).
    """
    if transfer.direction != TransferDirection.DOWN:
        raise ContentUnavailable(
            "only downlinks have content to fetch", fields={"direction": "is up"}
        )
    if transfer.state != TransferState.COMPLETED:
        raise ContentUnavailable(
            f"transfer {transfer.pk} is {transfer.state}, not completed",
            fields={"state": transfer.state},
        )
    path = chunks.inside(incoming_dir(), transfer.stored_path)
    if path is None or not path.is_file():
        raise ContentUnavailable(
            f"the stored file of transfer {transfer.pk} is missing",
            fields={"stored_path": transfer.stored_path},
        )
    if path.stat().st_size != transfer.size_bytes or chunks.file_sha256(path) != transfer.sha256:
        raise ContentUnavailable(
            f"the stored file of transfer {transfer.pk} no longer matches its SHA-256",
            fields={"sha256": "stored file differs"},
        )
    return path


# A transfer without a deadline still wants its bytes: the planner sees one far away.
NO_DEADLINE = timedelta(days=365)


def transfer_demand(
    spacecraft_ids: list[int], window_end: datetime
) -> tuple[planner.Transfer, ...]:
    """What the contact plan should carry: every open transfer's bytes still to move."""
    rows = Transfer.objects.filter(
        spacecraft_id__in=spacecraft_ids, state__in=MOVABLE_TRANSFER_STATES
    )
    return tuple(
        planner.Transfer(
            key=t.pk,
            spacecraft=t.spacecraft_id,
            size_bytes=float(t.size_bytes - t.bytes_done),
            deadline_s=timescales.unix_seconds(t.deadline or window_end + NO_DEADLINE),
            priority=t.priority,
            direction="up" if t.direction == TransferDirection.UP else "down",
        )
        for t in rows.order_by("pk")
    )
