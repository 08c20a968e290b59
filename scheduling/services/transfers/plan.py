"""Transfer planning: give every open transfer its contacts, ETA and deadline risk.

Feeds the pure planner (``scheduling.planners.transfers``) the movable transfers with
what is left of them and the spacecraft's scheduled and in-progress contacts, then
writes its forecast: ``TransferAllocation`` rows (replaced), each transfer's ``eta``,
``deadline_risk``, ``plan_rank`` and ``plan_note``, and ``queued`` <-> ``planned``
when the contacts known carry all of it, or no longer do. Run after every contact
replan, after a contact ends and after any change to a transfer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from orbital import timescales
from scheduling import live
from scheduling.models import (
    ACTIVE_CONTACT_STATES,
    MOVABLE_TRANSFER_STATES,
    Contact,
    Transfer,
    TransferAllocation,
    TransferChunk,
    TransferState,
)
from scheduling.planners import transfers as planner
from scheduling.services.transfers.states import PLANNER_ACTOR, move


@dataclass(frozen=True, slots=True)
class TransferPlanOutcome:
    transfers: int
    allocations: int
    at_risk: int
    unplanned: int


def _queued(rows: list[Transfer]) -> list[planner.QueuedTransfer]:
    pending = {
        r["transfer"]: (r["n"], r["last"])
        for r in TransferChunk.objects.filter(transfer__in=rows, acked_at__isnull=True)
        .values("transfer")
        .annotate(n=Count("id"), last=Max("index"))
    }
    out = []
    for t in rows:
        n, last = pending.get(t.pk, (0, -1))
        last_size = t.size_bytes - (t.chunk_count - 1) * t.chunk_size_bytes
        out.append(
            planner.QueuedTransfer(
                key=t.pk,
                spacecraft=t.spacecraft_id,
                direction="up" if t.direction == "up" else "down",
                pending_chunks=n,
                chunk_bytes=t.chunk_size_bytes,
                last_chunk_bytes=last_size,
                last_chunk_pending=last == t.chunk_count - 1,
                priority=t.priority,
                deadline_s=timescales.unix_seconds(t.deadline) if t.deadline else math.inf,
                created_s=timescales.unix_seconds(t.created_at),
            )
        )
    return out


def _windows(contacts: Iterable[Contact]) -> list[planner.LinkWindow]:
    out = []
    for c in contacts:
        duration = max(c.duration_s, 1e-9)
        out.append(
            planner.LinkWindow(
                key=c.pk,
                spacecraft=c.spacecraft_id,
                start_s=timescales.unix_seconds(c.start),
                end_s=timescales.unix_seconds(c.end),
                up_bytes_per_s=c.uplink_capacity_bytes / duration,
                down_bytes_per_s=c.downlink_capacity_bytes / duration,
            )
        )
    return out


def transfer_plan_refresh(
    *,
    spacecraft_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    actor: str = PLANNER_ACTOR,
) -> TransferPlanOutcome:
    """Replan the open transfers of the given spacecraft (default: every one)."""
    now = now or timezone.now()
    with transaction.atomic():
        # The transfer rows are locked in key order (as every other transfer write
        # takes them): two refreshes racing (an API call, a LOS) then run one after
        # the other instead of each replacing half of the other's allocations.
        # Unprepared uploads (still being hashed) hold no capacity until they can move.
        rows_qs = Transfer.objects.filter(state__in=MOVABLE_TRANSFER_STATES, prepared=True)
        contacts_qs = Contact.objects.filter(state__in=ACTIVE_CONTACT_STATES, end__gt=now)
        if spacecraft_ids is not None:
            ids = sorted(set(spacecraft_ids))
            rows_qs = rows_qs.filter(spacecraft_id__in=ids)
            contacts_qs = contacts_qs.filter(spacecraft_id__in=ids)
        rows = list(rows_qs.select_for_update().order_by("pk"))
        forecasts = planner.plan_transfers(
            transfers=_queued(rows),
            windows=_windows(contacts_qs.order_by("start", "pk")),
            now_s=timescales.unix_seconds(now),
        )
        allocations: list[TransferAllocation] = []
        at_risk = unplanned = 0
        TransferAllocation.objects.filter(transfer__in=rows).delete()
        for t in rows:
            f = forecasts[t.pk]
            t.eta = timescales.to_datetime(f.eta_s) if f.eta_s is not None else None
            t.deadline_risk = f.deadline_risk
            t.plan_rank = f.rank
            t.plan_note = f.note[:255]
            t.planned_at = now
            at_risk += int(f.deadline_risk)
            unplanned += int(f.eta_s is None)
            for a in f.allocations:
                allocations.append(
                    TransferAllocation(
                        transfer_id=t.pk,
                        contact_id=int(a.contact),  # type: ignore[call-overload]
                        sequence=a.sequence,
                        first_chunk=a.first_chunk,
                        chunk_count=a.chunk_count,
                        planned_bytes=a.bytes,
                        starts_at=timescales.to_datetime(a.start_s),
                        ends_at=timescales.to_datetime(a.end_s),
                    )
                )
        Transfer.objects.bulk_update(
            rows, ["eta", "deadline_risk", "plan_rank", "plan_note", "planned_at"], batch_size=1000
        )
        TransferAllocation.objects.bulk_create(allocations, batch_size=2000)
        for t in rows:
            f = forecasts[t.pk]
            if t.state == TransferState.QUEUED and f.allocations and f.eta_s is not None:
                move(
                    transfer=t,
                    to_state=TransferState.PLANNED,
                    actor=actor,
                    now=now,
                    detail=f"ETA {t.eta:%Y-%m-%dT%H:%M:%SZ} over {len(f.allocations)} contact(s)",
                    expect=(TransferState.QUEUED,),
                )
            elif t.state == TransferState.PLANNED and f.eta_s is None:
                move(
                    transfer=t,
                    to_state=TransferState.QUEUED,
                    actor=actor,
                    now=now,
                    detail=f.note,
                    expect=(TransferState.PLANNED,),
                )
            else:
                live.publish_transfer(t)
    return TransferPlanOutcome(len(rows), len(allocations), at_risk, unplanned)
