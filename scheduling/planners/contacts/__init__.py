"""Contact planning: which passes to book, on which antenna, for how long. Pure.

Inputs are dataclasses (``PlanRequest``: candidate passes, spacecraft, stations, waiting
transfers, the previous plan, a freeze horizon and a time budget), times are POSIX seconds;
the output is a ``PlanResult``: booked ``Contact``s (antenna index, start, end, capacity
per direction = min(spacecraft rate, station rate) x duration), the diff against the
previous plan (added / removed / kept, each with a reason), the method that produced it
and its score.

Objective: priority-weighted bytes delivered before their deadlines, as defined by
``problem.score_spacecraft`` (a spacecraft's contacts fill its transfers in deadline
order; spacecraft priority x transfer priority per byte; capacity beyond the demand is
worth 1% of a demand byte, enough to break ties, never enough to hold an antenna).

Solver: **OR-Tools CP-SAT**. The problem is scheduling with optional, variable-length
intervals (contacts trimmed inside their pass), cumulative resources (antennas per
station with setup and turnaround, radios per spacecraft) and a routing objective;
CP-SAT has native optional intervals, ``AddCumulative`` and a strong LNS portfolio, takes
a hint (the greedy plan) and stops on a time limit with its best solution. A MIP (HiGHS)
would need big-M disjunctions for every pair of overlapping contacts on an antenna,
whose LP relaxation is weak. How a run goes:

1. ``problem.build``: candidate windows (passes clipped to the window and the freeze
   horizon, cut around maintenance including setup/turnaround, filtered by allow/deny
   lists and the minimum duration); contacts of the previous plan in progress or
   starting inside the freeze horizon become fixed bookings that everything else avoids.
2. The value greedy (``greedy.ValueGreedy``, lazy marginal-gain greedy with trimming)
   builds a complete plan. It is the fallback: it always finishes, whatever the budget.
3. With time left: a problem of at most ``max_exact_candidates`` windows goes to CP-SAT
   whole (``cpsat.solve``: contacts route bytes to transfers), hinted with the greedy
   plan. A larger one is decomposed (large-neighbourhood search): CP-SAT re-plans one
   station over 20 minutes at a time with the rest of the plan fixed around it
   (``cpsat.solve_curves``: each candidate's worth is its true marginal score as a
   concave function of its length), the busiest neighbourhoods first, until the budget
   runs out; a neighbourhood's new plan is kept only when the true score of the
   spacecraft it touches improves. Measured on the 1000 x 20 x 24 h benchmark, the
   value greedy is already within ~0.1% of CP-SAT's optimum on most neighbourhoods:
   nearly all of the gain over earliest-pass-first comes from it, and the search
   polishes. Results of a run at that size depend on how many neighbourhoods fit in
   the budget, so they are not bit-for-bit repeatable; small problems are.
4. Antennas are assigned by a sweep (``problem.assign_antennas``) and the diff is made.

The earliest-pass-first baseline (``greedy.earliest_pass_first``) is what the benchmark
compares against: ``plan_baseline``.
"""

from __future__ import annotations

import time

from scheduling.planners.contacts import cpsat
from scheduling.planners.contacts.diff import plan_diff
from scheduling.planners.contacts.greedy import ValueGreedy, earliest_pass_first
from scheduling.planners.contacts.problem import (
    Booking,
    Problem,
    assign_antennas,
    build,
    objective,
    score,
    to_contact,
)
from scheduling.planners.contacts.types import (
    CandidatePass,
    Contact,
    DiffEntry,
    PlanRequest,
    PlanResult,
    PlanScore,
    SpacecraftSpec,
    StationSpec,
    Transfer,
)

__all__ = [
    "CandidatePass",
    "Contact",
    "DiffEntry",
    "PlanRequest",
    "PlanResult",
    "PlanScore",
    "SpacecraftSpec",
    "StationSpec",
    "Transfer",
    "plan_baseline",
    "plan_contacts",
    "score_contacts",
]

NEIGHBOURHOOD_S = 1200.0
NEIGHBOURHOOD_LIMIT_S = 0.3


def _fixed_contacts(request: PlanRequest) -> list[Contact]:
    now = request.window_start_s if request.now_s is None else request.now_s
    return [c for c in request.previous if c.end_s > now and c.start_s < now + request.freeze_s]


def _finish(
    request: PlanRequest,
    problem: Problem,
    bookings: list[Booking],
    method: str,
    stats: dict[str, float],
) -> PlanResult:
    fixed_contacts = _fixed_contacts(request)
    everything = list(problem.fixed) + bookings
    assign_antennas(problem, everything)
    contacts = tuple(
        sorted(
            [*fixed_contacts, *(to_contact(problem, b) for b in bookings)],
            key=lambda c: (c.start_s, str(c.station), c.antenna),
        )
    )
    now = request.window_start_s if request.now_s is None else request.now_s
    return PlanResult(
        contacts=contacts,
        diff=plan_diff(request, now, fixed_contacts, contacts),
        method=method,
        score=score(problem, everything),
        stats=stats,
    )


def _total(problem: Problem, bookings: list[Booking]) -> float:
    by_sc: dict[int, list[Booking]] = {}
    for b in bookings:
        by_sc.setdefault(b.sc, []).append(b)
    return sum(objective(problem, sc, group) for sc, group in by_sc.items())


def _lns(problem: Problem, greedy: ValueGreedy, deadline: float, seed: int) -> int:
    """Re-plan station-hours with CP-SAT until ``deadline``; returns improvements kept."""
    hoods: dict[tuple[int, int], list[int]] = {}
    for c in range(len(problem.cand_sc)):
        sc = problem.cand_sc[c]
        if not (problem.demand_up[sc].size_bytes or problem.demand_down[sc].size_bytes):
            continue
        slot = int((problem.cand_lo[c] - problem.earliest_s) // NEIGHBOURHOOD_S)
        hoods.setdefault((problem.cand_st[c], slot), []).append(c)
    order = sorted(hoods, key=lambda k: (-len(hoods[k]), k))
    kept = 0
    lines = greedy.lines
    for key in order:
        left = deadline - time.perf_counter()
        if left < 0.05:
            break
        cands = hoods[key]
        members = set(cands)
        inside = [b for b in lines.bookings if not b.fixed and b.cand in members]
        touched = {problem.cand_sc[c] for c in cands}
        before = sum(objective(problem, sc, lines.craft[sc]) for sc in touched)
        for b in inside:
            lines.remove(b)
        context = lines.bookings
        _, found = cpsat.solve_curves(
            problem,
            cands,
            context,
            inside,
            min(left, NEIGHBOURHOOD_LIMIT_S),
            workers=1,
            seed=seed,
        )
        trial = {sc: list(lines.craft[sc]) for sc in touched}
        for b in found:
            trial[b.sc].append(b)
        after_values = {sc: objective(problem, sc, group) for sc, group in trial.items()}
        if found and sum(after_values.values()) > before * (1 + 1e-9) + 1e-6:
            for b in found:
                lines.add(b)
            for sc, value in after_values.items():
                greedy.value[sc] = value
            kept += 1
        else:
            for b in inside:
                lines.add(b)
    return kept


def plan_contacts(request: PlanRequest) -> PlanResult:
    """The optimised plan: see the module docstring."""
    began = time.perf_counter()
    deadline = began + request.time_budget_s
    problem = build(request)
    greedy = ValueGreedy(problem)
    greedy.run(list(range(len(problem.cand_sc))))
    stats: dict[str, float] = {
        "candidates": float(len(problem.cand_sc)),
        "greedy_s": time.perf_counter() - began,
    }
    best = greedy.bookings()
    method = "greedy fallback"
    left = deadline - time.perf_counter()
    if left > 0.01 and problem.cand_sc:
        if len(problem.cand_sc) <= request.max_exact_candidates:
            status, found = cpsat.solve(
                problem,
                list(range(len(problem.cand_sc))),
                list(problem.fixed),
                best,
                left,
                seed=request.seed,
            )
            if found or status in ("OPTIMAL", "FEASIBLE"):
                fixed = list(problem.fixed)
                if _total(problem, fixed + found) >= _total(problem, fixed + best) - 1e-6:
                    best = found
                    method = f"cp-sat {status.lower()}"
                else:
                    method = "greedy (cp-sat found no better plan)"
        else:
            kept = _lns(problem, greedy, deadline, request.seed)
            best = greedy.bookings()
            stats["lns_improvements"] = float(kept)
            method = "greedy+cp-sat lns"
    stats["plan_s"] = time.perf_counter() - began
    return _finish(request, problem, best, method, stats)


def plan_baseline(request: PlanRequest) -> PlanResult:
    """The earliest-pass-first baseline on the same inputs (for benchmarks and tests)."""
    began = time.perf_counter()
    problem = build(request)
    bookings = earliest_pass_first(problem)
    return _finish(
        request, problem, bookings, "earliest-pass-first", {"plan_s": time.perf_counter() - began}
    )


def score_contacts(request: PlanRequest, contacts: tuple[Contact, ...]) -> PlanScore:
    """The score of any set of contacts (for instance one booked by hand)."""
    problem = build(request)
    index_sc = {k: i for i, k in enumerate(problem.sc_keys)}
    index_st = {k: i for i, k in enumerate(problem.st_keys)}
    return score(
        problem,
        [
            Booking(index_sc[c.spacecraft], index_st[c.station], c.start_s, c.end_s)
            for c in contacts
        ],
    )
