"""Greedy planners: the earliest-pass-first baseline and the value greedy (the fallback).

Both book into ``Timelines``, which know where an antenna (with setup before and
turnaround after each contact) or a spacecraft radio is still free.
"""

from __future__ import annotations

import bisect
import heapq
import math
import time

from scheduling.planners.contacts.problem import (
    EXCESS_WEIGHT,
    Booking,
    Problem,
    edf_fill,
    objective,
    subtract_intervals,
)


def _saturated(intervals: list[tuple[float, float]], capacity: int) -> list[tuple[float, float]]:
    """The spans where at least ``capacity`` of ``intervals`` overlap."""
    if len(intervals) < capacity:
        return []
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    out: list[tuple[float, float]] = []
    level, since = 0, 0.0
    for t, step in events:
        before = level
        level += step
        if before < capacity <= level:
            since = t
        elif level < capacity <= before and t > since:
            out.append((since, t))
    return out


class Timelines:
    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.station: list[list[tuple[float, float]]] = [[] for _ in problem.st_keys]
        self.station_span: list[float] = [0.0 for _ in problem.st_keys]
        self.craft: list[list[Booking]] = [[] for _ in problem.sc_keys]
        self.bookings: list[Booking] = []
        for b in problem.fixed:
            self.add(b)

    def add(self, b: Booking) -> None:
        occ = (b.start_s - self.p.setup_s[b.st], b.end_s + self.p.turnaround_s[b.st])
        bisect.insort(self.station[b.st], occ)
        self.station_span[b.st] = max(self.station_span[b.st], occ[1] - occ[0])
        self.craft[b.sc].append(b)
        self.bookings.append(b)

    def remove(self, b: Booking) -> None:
        occ = (b.start_s - self.p.setup_s[b.st], b.end_s + self.p.turnaround_s[b.st])
        self.station[b.st].remove(occ)
        self.craft[b.sc].remove(b)
        self.bookings.remove(b)

    def free_pieces(self, sc: int, st: int, lo: float, hi: float) -> list[tuple[float, float]]:
        """Sub-intervals of [lo, hi] where a contact of ``sc`` at ``st`` fits."""
        p = self.p
        setup, turn = p.setup_s[st], p.turnaround_s[st]
        occ = self.station[st]
        first = bisect.bisect_left(occ, (lo - setup - self.station_span[st], float("-inf")))
        near = [iv for iv in occ[first:] if iv[0] < hi + turn and iv[1] > lo - setup]
        cuts = [(a - turn, b + setup) for a, b in _saturated(near, p.antennas[st])]
        links = [(b.start_s, b.end_s) for b in self.craft[sc] if b.start_s < hi and b.end_s > lo]
        cuts += _saturated(links, p.radios[sc])
        return subtract_intervals(lo, hi, sorted(cuts)) if cuts else [(lo, hi)]


def earliest_pass_first(problem: Problem) -> list[Booking]:
    """The baseline: walk the candidate windows by start time and book each whole window on
    a free antenna when the spacecraft still has unbooked demand; no priorities, no trimming."""
    lines = Timelines(problem)
    wanted = [
        sum(problem.demand_up[i].size_bytes) + sum(problem.demand_down[i].size_bytes)
        for i in range(len(problem.sc_keys))
    ]
    booked = [0.0] * len(problem.sc_keys)
    order = sorted(range(len(problem.cand_sc)), key=lambda c: (problem.cand_lo[c], c))
    for c in order:
        sc, st = problem.cand_sc[c], problem.cand_st[c]
        if booked[sc] >= wanted[sc]:
            continue
        lo, hi = problem.cand_lo[c], problem.cand_hi[c]
        if lines.free_pieces(sc, st, lo, hi) != [(lo, hi)]:
            continue
        lines.add(Booking(sc, st, lo, hi, cand=c))
        booked[sc] += (problem.up_bps[sc][st] + problem.down_bps[sc][st]) * (hi - lo)
    return [b for b in lines.bookings if not b.fixed]


def _needed_s(problem: Problem, sc: int, st: int, bookings: list[Booking], lo: float) -> float:
    """Seconds of contact at ``st`` that would carry all of ``sc``'s still-unserved demand
    whose deadline is after ``lo``."""
    need = 0.0
    pairs = ((problem.demand_up, problem.up_bps), (problem.demand_down, problem.down_bps))
    for demand, rates in pairs:
        d = demand[sc]
        if not d.size_bytes:
            continue
        rate = rates[sc][st]
        deliveries = [(b.end_s, rates[sc][b.st] * (b.end_s - b.start_s)) for b in bookings]
        remaining = edf_fill(d, deliveries)[4]
        left = sum(r for r, dl in zip(remaining, d.deadline_s, strict=True) if dl >= lo)
        if rate > 0:
            need = max(need, left / rate)
    return need


class ValueGreedy:
    """Lazy greedy on marginal objective: book the candidate whose best placement (the
    longest free piece of its window, cut to the time its spacecraft's unserved demand
    needs) adds most, re-scoring a popped candidate before booking it."""

    def __init__(self, problem: Problem, lines: Timelines | None = None) -> None:
        self.p = problem
        self.lines = lines or Timelines(problem)
        self.value = [
            objective(problem, i, self.lines.craft[i]) for i in range(len(problem.sc_keys))
        ]

    def placement(self, c: int) -> tuple[float, Booking | None]:
        p, lines = self.p, self.lines
        sc, st = p.cand_sc[c], p.cand_st[c]
        pieces = [
            (float(math.ceil(a - 1e-6)), float(math.floor(b + 1e-6)))
            for a, b in lines.free_pieces(sc, st, p.cand_lo[c], p.cand_hi[c])
        ]
        pieces = [(a, b) for a, b in pieces if b - a >= p.min_duration_s - 1e-9]
        if not pieces:
            return 0.0, None
        lo, hi = max(pieces, key=lambda x: (x[1] - x[0], -x[0]))
        need = _needed_s(p, sc, st, lines.craft[sc], lo)
        if need <= 0.0:
            return 0.0, None
        end = min(hi, float(math.ceil(lo + max(p.min_duration_s, need))))
        trial = Booking(sc, st, lo, end, cand=c)
        gain = objective(p, sc, [*lines.craft[sc], trial]) - self.value[sc]
        # Excess bytes alone never justify holding an antenna.
        capacity = (p.up_bps[sc][st] + p.down_bps[sc][st]) * (end - lo)
        if gain <= EXCESS_WEIGHT * p.priority[sc] * capacity + 1.0:
            return 0.0, None
        return gain, trial

    def run(self, candidates: list[int], deadline: float | None = None) -> bool:
        """Book from ``candidates``; False when ``deadline`` (perf_counter) cut it short."""
        p = self.p
        heap: list[tuple[float, int]] = []
        for c in candidates:
            sc, st = p.cand_sc[c], p.cand_st[c]
            span = p.cand_hi[c] - p.cand_lo[c]
            bound = 0.0
            for demand, rates in ((p.demand_up, p.up_bps), (p.demand_down, p.down_bps)):
                d = demand[sc]
                if d.size_bytes:
                    bound += min(rates[sc][st] * span, sum(d.size_bytes)) * max(d.weight)
            if bound > 0.0:
                heap.append((-bound, c))
        heapq.heapify(heap)
        steps = 0
        while heap:
            steps += 1
            if deadline is not None and steps % 256 == 0 and time.perf_counter() > deadline:
                return False
            _, c = heapq.heappop(heap)
            gain, trial = self.placement(c)
            if trial is None:
                continue
            if heap and gain < -heap[0][0] * 0.98:
                heapq.heappush(heap, (-gain, c))
                continue
            self.lines.add(trial)
            self.value[trial.sc] += gain
        return True

    def bookings(self) -> list[Booking]:
        return [b for b in self.lines.bookings if not b.fixed]
