"""The transfer planner: which chunks of which transfer go over which contact. Pure.

Inputs are the contacts still to come (or in progress: only the time left counts) and the
transfers still moving bytes; times are POSIX seconds, rates bytes per second. Per
spacecraft and direction (uplink and downlink run at once, each at its own rate):

1. **Order.** Transfers with a deadline are admitted in priority order (highest first,
   then earliest deadline, then oldest): one is admitted when an earliest-deadline-first
   fill of everything admitted so far still meets every admitted deadline with it
   included. So a lower-priority transfer never makes a higher-priority one miss its
   deadline, and among transfers that all fit, deadlines decide. The admitted run first
   in deadline order, then the rest (late anyway, or in the way of an admitted one, or
   without a deadline) by priority, so a late high-priority transfer still goes before
   low-priority work.
2. **Fill.** Contacts in time order are filled with whole chunks in that order (a chunk
   cut by LOS is sent again on the next contact, so a contact carries only the chunks
   that fit). Each allocation records its first chunk (the position among the
   transfer's pending chunks), its chunk count, its bytes and when it starts and ends.
3. **Forecast.** A transfer's ETA is when its last chunk is planned to arrive; it is
   at risk when it has a deadline and the ETA is later or there is none (the contacts
   known cannot carry it all). ``note`` says which.

This is the same deadline-ordered fill the contact planner scores its plans with
(``scheduling.planners.contacts.problem``), so the contacts it booked for the demand are the
ones the transfers are given here.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

Key = Hashable
Direction = Literal["up", "down"]
# Admission checks cost O(n^2) fills per spacecraft and direction: above this many
# transfers in one queue the order is plain earliest-deadline-first.
MAX_ADMISSION_QUEUE = 64


@dataclass(frozen=True, slots=True)
class LinkWindow:
    """A contact as the transfer planner sees it: its time left and its rates."""

    key: Key
    spacecraft: Key
    start_s: float
    end_s: float
    up_bytes_per_s: float
    down_bytes_per_s: float

    def rate(self, direction: Direction) -> float:
        return self.up_bytes_per_s if direction == "up" else self.down_bytes_per_s


@dataclass(frozen=True, slots=True)
class QueuedTransfer:
    """What is left of a transfer: ``pending_chunks`` chunks of ``chunk_bytes`` (the last
    one of the file is ``last_chunk_bytes`` when it is still pending)."""

    key: Key
    spacecraft: Key
    direction: Direction
    pending_chunks: int
    chunk_bytes: int
    last_chunk_bytes: int
    last_chunk_pending: bool
    priority: int = 5
    deadline_s: float = math.inf
    created_s: float = 0.0

    @property
    def remaining_bytes(self) -> int:
        if self.pending_chunks <= 0:
            return 0
        if self.last_chunk_pending:
            return (self.pending_chunks - 1) * self.chunk_bytes + self.last_chunk_bytes
        return self.pending_chunks * self.chunk_bytes


@dataclass(frozen=True, slots=True)
class Allocation:
    transfer: Key
    contact: Key
    sequence: int  # order of the transfer inside the contact, per direction
    first_chunk: int  # position among the transfer's pending chunks
    chunk_count: int
    bytes: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Forecast:
    transfer: Key
    rank: int  # order in its spacecraft's queue for its direction (0 first)
    admitted: bool
    eta_s: float | None
    deadline_risk: bool
    note: str
    allocations: tuple[Allocation, ...]


def _edf_key(t: QueuedTransfer) -> tuple[float, int, float, str]:
    return (t.deadline_s, -t.priority, t.created_s, str(t.key))


def _priority_key(t: QueuedTransfer) -> tuple[int, float, float, str]:
    return (-t.priority, t.deadline_s, t.created_s, str(t.key))


def edf_fill(
    order: Sequence[QueuedTransfer],
    windows: Sequence[LinkWindow],
    direction: Direction,
    now_s: float,
) -> dict[Key, list[Allocation]]:
    """Whole chunks of ``order`` into ``windows`` (time order), first come first served."""
    out: dict[Key, list[Allocation]] = {t.key: [] for t in order}
    position = {t.key: 0 for t in order}
    for w in windows:
        rate = w.rate(direction)
        begin = max(w.start_s, now_s)
        if rate <= 0.0 or w.end_s <= begin:
            continue
        capacity = rate * (w.end_s - begin)
        used = 0.0
        sequence = 0
        for t in order:
            pos = position[t.key]
            if pos >= t.pending_chunks:
                continue
            first = pos
            room = capacity - used + 1e-6
            # Full-size chunks first (arithmetically: files run to thousands of chunks),
            # then the file's short last chunk if it is pending and still fits.
            full_left = t.pending_chunks - pos - (1 if t.last_chunk_pending else 0)
            count = min(full_left, int(room // t.chunk_bytes))
            size = count * t.chunk_bytes
            if count == full_left and t.last_chunk_pending and size + t.last_chunk_bytes <= room:
                count += 1
                size += t.last_chunk_bytes
            pos += count
            if count == 0:
                continue
            start = begin + used / rate
            used += size
            out[t.key].append(
                Allocation(t.key, w.key, sequence, first, count, size, start, begin + used / rate)
            )
            sequence += 1
            position[t.key] = pos
            if capacity - used < 1.0:
                break
    return out


def _eta(t: QueuedTransfer, allocations: list[Allocation]) -> float | None:
    if sum(a.chunk_count for a in allocations) < t.pending_chunks:
        return None
    return allocations[-1].end_s if allocations else None


def _meets(t: QueuedTransfer, allocations: list[Allocation]) -> bool:
    eta = _eta(t, allocations)
    return math.isinf(t.deadline_s) or (eta is not None and eta <= t.deadline_s)


def _order(
    queue: list[QueuedTransfer], windows: list[LinkWindow], direction: Direction, now_s: float
) -> tuple[list[QueuedTransfer], set[Key]]:
    if len(queue) > MAX_ADMISSION_QUEUE:
        order = sorted(queue, key=_edf_key)
        fill = edf_fill(order, windows, direction, now_s)
        return order, {t.key for t in order if _meets(t, fill[t.key])}
    admitted: list[QueuedTransfer] = []
    for t in sorted(queue, key=_priority_key):
        if math.isinf(t.deadline_s):
            continue  # no deadline to protect: it follows, by priority
        trial = sorted([*admitted, t], key=_edf_key)
        fill = edf_fill(trial, windows, direction, now_s)
        if all(_meets(x, fill[x.key]) for x in trial):
            admitted = trial
    keys = {t.key for t in admitted}
    # The rest (late whatever happens, or would make an admitted one late, or with no
    # deadline) by priority: a late priority-10 transfer goes before a priority-1 one.
    rest = sorted((t for t in queue if t.key not in keys), key=_priority_key)
    return admitted + rest, keys


def plan_transfers(
    *,
    transfers: Sequence[QueuedTransfer],
    windows: Sequence[LinkWindow],
    now_s: float,
) -> dict[Key, Forecast]:
    """Forecasts for every transfer given: see the module docstring."""
    by_queue: dict[tuple[Key, Direction], list[QueuedTransfer]] = {}
    for t in transfers:
        if t.pending_chunks > 0:
            by_queue.setdefault((t.spacecraft, t.direction), []).append(t)
    windows_of: dict[Key, list[LinkWindow]] = {}
    for w in sorted(windows, key=lambda w: (w.start_s, w.end_s, str(w.key))):
        if w.end_s > now_s:
            windows_of.setdefault(w.spacecraft, []).append(w)
    out: dict[Key, Forecast] = {}
    for t in transfers:
        if t.pending_chunks <= 0:
            out[t.key] = Forecast(t.key, 0, True, now_s, False, "nothing left to send", ())
    for (spacecraft, direction), queue in by_queue.items():
        craft_windows = windows_of.get(spacecraft, [])
        order, admitted = _order(queue, craft_windows, direction, now_s)
        fill = edf_fill(order, craft_windows, direction, now_s)
        for rank, t in enumerate(order):
            allocations = fill[t.key]
            eta = _eta(t, allocations)
            has_deadline = not math.isinf(t.deadline_s)
            if eta is None:
                planned = sum(a.bytes for a in allocations)
                note = (
                    "no contact planned for this spacecraft"
                    if not craft_windows
                    else f"planned contacts carry {planned} of {t.remaining_bytes} bytes left"
                )
                risk = has_deadline
            elif has_deadline and eta > t.deadline_s:
                note = f"ETA {eta - t.deadline_s:.0f} s after the deadline"
                if t.key not in admitted:
                    alone = edf_fill([t], craft_windows, direction, now_s)[t.key]
                    if _meets(t, alone):
                        note += " (transfers of equal or higher priority come first)"
                risk = True
            else:
                note = "on time" if has_deadline else "no deadline"
                risk = False
            out[t.key] = Forecast(
                t.key, rank, t.key in admitted, eta, risk, note, tuple(allocations)
            )
    return out
