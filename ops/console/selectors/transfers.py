"""The transfer queue: open transfers in the order they will move, the recently
finished, and the workloads they belong to (three queries, whatever the queue's size)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from scheduling.models import (
    OPEN_TRANSFER_STATES,
    TERMINAL_WORKLOAD_STATES,
    Transfer,
    TransferState,
    Workload,
)

RECENT = timedelta(hours=24)
RECENT_SHOWN = 50
# Moving first, then by the plan's order, then the rest by deadline and priority.
STATE_ORDER = {
    TransferState.IN_PROGRESS: 0,
    TransferState.VERIFYING: 1,
    TransferState.PLANNED: 2,
    TransferState.QUEUED: 3,
    TransferState.PAUSED: 4,
}


@dataclass(frozen=True, slots=True)
class Queue:
    open: list[Transfer]
    recent: list[Transfer]
    workloads: Sequence[Workload]  # annotated: transfer_count, open_count

    @property
    def at_risk(self) -> int:
        return sum(1 for t in self.open if t.deadline_risk)


def _sort_key(t: Transfer) -> tuple[int, int, float, int, int]:
    deadline = t.deadline.timestamp() if t.deadline else float("inf")
    return (
        STATE_ORDER.get(TransferState(t.state), 9),
        t.plan_rank if t.plan_rank is not None else 1 << 30,
        deadline,
        -t.priority,
        t.pk,
    )


def transfer_queue(*, now: datetime, spacecraft_slug: str | None = None) -> Queue:
    base = Transfer.objects.select_related("spacecraft")
    if spacecraft_slug:
        base = base.filter(spacecraft__slug=spacecraft_slug)
    open_rows = sorted(base.filter(state__in=OPEN_TRANSFER_STATES), key=_sort_key)
    recent = list(
        base.exclude(state__in=OPEN_TRANSFER_STATES)
        .filter(state_changed_at__gte=now - RECENT)
        .order_by("-state_changed_at", "-pk")[:RECENT_SHOWN]
    )
    workloads = Workload.objects.select_related("spacecraft").annotate(
        transfer_count=Count("transfers"),
        open_count=Count("transfers", filter=Q(transfers__state__in=OPEN_TRANSFER_STATES)),
    )
    if spacecraft_slug:
        workloads = workloads.filter(spacecraft__slug=spacecraft_slug)
    workload_rows = list(
        workloads.filter(
            ~Q(state__in=TERMINAL_WORKLOAD_STATES) | Q(state_changed_at__gte=now - RECENT)
        ).order_by("-created_at", "-pk")[:100]
    )
    return Queue(open=open_rows, recent=recent, workloads=workload_rows)
