"""The indexed planning problem: candidate windows, frozen contacts, demand, scoring.

A candidate window is the part of a pass a contact may use: the pass clipped to the
planning window (after the freeze horizon), minus every time that would put the antenna's
setup or turnaround inside a maintenance window, dropped when shorter than the minimum
duration or when the station's allow/deny lists exclude the spacecraft.

Scoring (``score_spacecraft``) is the objective's definition: a spacecraft's contacts, in
order of their end, fill its waiting transfers in deadline order (earliest first), per
direction; bytes count for a transfer only when the contact ends by its deadline, and are
worth ``spacecraft priority x transfer priority`` each. Capacity beyond the demand is worth
``EXCESS_WEIGHT x spacecraft priority`` a byte in the objective (and nothing in the score).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scheduling.planners.contacts.types import Contact, Key, PlanRequest, PlanScore

EXCESS_WEIGHT = 0.01


@dataclass(slots=True)
class Demand:
    """One spacecraft's transfers in one direction, in deadline order."""

    deadline_s: list[float] = field(default_factory=list)
    size_bytes: list[float] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Booking:
    """A contact inside the planner (indices, not keys)."""

    sc: int
    st: int
    start_s: float
    end_s: float
    fixed: bool = False
    antenna: int = -1
    cand: int = -1  # the candidate window it was cut from (-1: fixed)


@dataclass
class Problem:
    sc_keys: list[Key]
    st_keys: list[Key]
    priority: list[float]
    radios: list[int]
    antennas: list[int]
    setup_s: list[float]
    turnaround_s: list[float]
    up_bps: list[list[float]]  # [sc][st] bytes per second, uplink
    down_bps: list[list[float]]
    demand_up: list[Demand]
    demand_down: list[Demand]
    cand_sc: list[int]
    cand_st: list[int]
    cand_lo: list[float]
    cand_hi: list[float]
    fixed: list[Booking]
    earliest_s: float
    min_duration_s: float


def subtract_intervals(
    lo: float, hi: float, cuts: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    pieces = [(lo, hi)]
    for c0, c1 in cuts:
        nxt: list[tuple[float, float]] = []
        for a, b in pieces:
            if c1 <= a or c0 >= b:
                nxt.append((a, b))
                continue
            if c0 > a:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        pieces = nxt
    return pieces


def build(request: PlanRequest) -> Problem:
    sc_keys = [s.key for s in request.spacecraft]
    st_keys = [s.key for s in request.stations]
    sc_index = {k: i for i, k in enumerate(sc_keys)}
    st_index = {k: i for i, k in enumerate(st_keys)}
    if len(sc_index) != len(sc_keys) or len(st_index) != len(st_keys):
        raise ValueError("spacecraft and station keys must be unique")
    up = [
        [min(sc.uplink_rate_bps, st.uplink_rate_bps) / 8.0 for st in request.stations]
        for sc in request.spacecraft
    ]
    down = [
        [min(sc.downlink_rate_bps, st.downlink_rate_bps) / 8.0 for st in request.stations]
        for sc in request.spacecraft
    ]
    demand_up = [Demand() for _ in sc_keys]
    demand_down = [Demand() for _ in sc_keys]
    for t in sorted(request.transfers, key=lambda t: (t.deadline_s, -t.priority, str(t.key))):
        i = sc_index.get(t.spacecraft)
        if i is None or t.size_bytes <= 0:
            continue
        d = (demand_up if t.direction == "up" else demand_down)[i]
        d.deadline_s.append(t.deadline_s)
        d.size_bytes.append(float(t.size_bytes))
        d.weight.append(float(request.spacecraft[i].priority * t.priority))

    now = request.window_start_s if request.now_s is None else request.now_s
    earliest = max(request.window_start_s, now + request.freeze_s)
    fixed: list[Booking] = []
    for c in request.previous:
        if c.spacecraft not in sc_index or c.station not in st_index:
            continue
        if c.end_s > now and c.start_s < now + request.freeze_s:
            fixed.append(
                Booking(sc_index[c.spacecraft], st_index[c.station], c.start_s, c.end_s, True)
            )
            fixed[-1].antenna = c.antenna

    cand_sc: list[int] = []
    cand_st: list[int] = []
    cand_lo: list[float] = []
    cand_hi: list[float] = []
    cuts_by_station = [
        sorted(
            (m0 - math.ceil(st.turnaround_s), m1 + math.ceil(st.setup_s))
            for m0, m1 in st.maintenance
        )
        for st in request.stations
    ]
    for p in request.passes:
        i, g = sc_index.get(p.spacecraft), st_index.get(p.station)
        if i is None or g is None or not request.stations[g].serves(p.spacecraft):
            continue
        lo, hi = max(p.aos_s, earliest), min(p.los_s, request.window_end_s)
        if hi - lo < request.min_duration_s:
            continue
        for a_f, b_f in subtract_intervals(lo, hi, cuts_by_station[g]):
            # Whole seconds: CP-SAT needs integers, and rounding inwards stays feasible.
            a, b = float(math.ceil(a_f - 1e-6)), float(math.floor(b_f + 1e-6))
            if b - a >= request.min_duration_s:
                cand_sc.append(i)
                cand_st.append(g)
                cand_lo.append(a)
                cand_hi.append(b)
    return Problem(
        sc_keys=sc_keys,
        st_keys=st_keys,
        priority=[float(s.priority) for s in request.spacecraft],
        radios=[max(1, s.radios) for s in request.spacecraft],
        antennas=[max(1, s.antennas) for s in request.stations],
        setup_s=[float(math.ceil(s.setup_s)) for s in request.stations],
        turnaround_s=[float(math.ceil(s.turnaround_s)) for s in request.stations],
        up_bps=up,
        down_bps=down,
        demand_up=demand_up,
        demand_down=demand_down,
        cand_sc=cand_sc,
        cand_st=cand_st,
        cand_lo=cand_lo,
        cand_hi=cand_hi,
        fixed=fixed,
        earliest_s=earliest,
        min_duration_s=request.min_duration_s,
    )


def edf_fill(
    demand: Demand, deliveries: list[tuple[float, float]]
) -> tuple[float, float, float, int, list[float]]:
    """EDF fill of one direction: (delivered, weighted, excess, missed, remaining)."""
    remaining = list(demand.size_bytes)
    delivered = weighted = excess = 0.0
    for end_s, capacity in sorted(deliveries):
        left = capacity
        for j, deadline in enumerate(demand.deadline_s):
            if left <= 0.0:
                break
            if remaining[j] <= 0.0 or deadline < end_s:
                continue
            take = min(left, remaining[j])
            remaining[j] -= take
            left -= take
            delivered += take
            weighted += take * demand.weight[j]
        excess += left
    missed = sum(1 for r in remaining if r > 1e-6)
    return delivered, weighted, excess, missed, remaining


def score_spacecraft(problem: Problem, sc: int, bookings: list[Booking]) -> PlanScore:
    ups = [(b.end_s, problem.up_bps[sc][b.st] * (b.end_s - b.start_s)) for b in bookings]
    downs = [(b.end_s, problem.down_bps[sc][b.st] * (b.end_s - b.start_s)) for b in bookings]
    d1, w1, e1, m1, _ = edf_fill(problem.demand_up[sc], ups)
    d2, w2, e2, m2, _ = edf_fill(problem.demand_down[sc], downs)
    return PlanScore(d1 + d2, w1 + w2, m1 + m2, e1 + e2)


def objective(problem: Problem, sc: int, bookings: list[Booking]) -> float:
    s = score_spacecraft(problem, sc, bookings)
    return s.weighted_bytes + EXCESS_WEIGHT * problem.priority[sc] * s.excess_bytes


def score(problem: Problem, bookings: list[Booking]) -> PlanScore:
    by_sc: dict[int, list[Booking]] = {}
    for b in bookings:
        by_sc.setdefault(b.sc, []).append(b)
    delivered = weighted = excess = 0.0
    missed = 0
    for sc in range(len(problem.sc_keys)):
        s = score_spacecraft(problem, sc, by_sc.get(sc, []))
        delivered += s.delivered_bytes
        weighted += s.weighted_bytes
        excess += s.excess_bytes
        missed += s.missed_deadlines
    return PlanScore(delivered, weighted, missed, excess)


def assign_antennas(problem: Problem, bookings: list[Booking]) -> None:
    """Give every non-fixed booking an antenna index.

    Per station the occupied intervals (setup, contact, turnaround) form an interval graph,
    so when no more than ``antennas`` overlap at any instant (what the solvers enforce) a
    sweep in start order always finds a free antenna. Fixed bookings keep theirs: they
    start before every new booking, so they are met first.
    """
    by_st: dict[int, list[Booking]] = {}
    for b in bookings:
        by_st.setdefault(b.st, []).append(b)
    for st, group in by_st.items():
        setup, turn, count = problem.setup_s[st], problem.turnaround_s[st], problem.antennas[st]
        free_at = [float("-inf")] * count
        for b in sorted(group, key=lambda b: (not b.fixed, b.start_s)):
            if b.fixed and 0 <= b.antenna < count:
                free_at[b.antenna] = max(free_at[b.antenna], b.end_s + turn)
                continue
            options = [a for a in range(count) if free_at[a] <= b.start_s - setup + 1e-6]
            if not options:
                raise RuntimeError("antenna capacity exceeded: planner bug")
            a = min(options, key=lambda a: (-free_at[a], a))  # best fit keeps gaps usable
            b.antenna = a
            free_at[a] = b.end_s + turn


def to_contact(problem: Problem, b: Booking) -> Contact:
    duration = b.end_s - b.start_s
    return Contact(
        spacecraft=problem.sc_keys[b.sc],
        station=problem.st_keys[b.st],
        antenna=b.antenna,
        start_s=b.start_s,
        end_s=b.end_s,
        uplink_bytes=problem.up_bps[b.sc][b.st] * duration,
        downlink_bytes=problem.down_bps[b.sc][b.st] * duration,
    )
