"""The CP-SAT model of a (sub)problem: which candidate windows to book, and which part.

Per candidate window: a presence literal, integer start and end seconds inside the window
(so contacts are trimmed, not only taken whole), an optional interval for the contact and
one for the antenna's occupation (setup before, turnaround after). Constraints: per
station a cumulative of occupations with capacity = antennas (identical antennas: any
schedule within the capacity is an interval graph, coloured onto antennas afterwards);
per spacecraft a cumulative of contacts with capacity = radios; bookings outside the
subproblem (frozen contacts, the rest of the plan) enter both as fixed intervals.
Objective: per spacecraft, direction and still-unserved transfer, integer bytes (in
``unit`` bytes) routed from a contact ending by the transfer's deadline, weighted by
priority, plus a small weight on raw capacity (bytes beyond demand are worth little).
The routing relaxes the scorer's deadline-order filling: the true score of the solution
is always recomputed by ``problem.score`` before it is accepted.

``solve_curves`` is the neighbourhood model of the large-problem search: same intervals
and cumulatives, but each candidate's worth is the sampled true marginal score (concave
hull) instead of explicit routing, which is closer to the score when the rest of a
spacecraft's contacts lie outside the neighbourhood.
"""

from __future__ import annotations

import itertools
import math

from ortools.sat.python import cp_model

from scheduling.planners.contacts.problem import (
    EXCESS_WEIGHT,
    Booking,
    Problem,
    edf_fill,
    objective,
)

WEIGHT_SCALE = 100


def solve(
    problem: Problem,
    candidates: list[int],
    context: list[Booking],
    hint: list[Booking],
    time_limit_s: float,
    *,
    workers: int = 2,
    seed: int = 0,
) -> tuple[str, list[Booking]]:
    """Best bookings among ``candidates`` given ``context`` (kept as is).

    Returns the CP-SAT status name and the bookings (empty unless OPTIMAL or FEASIBLE).
    """
    p = problem
    model = cp_model.CpModel()
    if not candidates:
        return "OPTIMAL", []
    t0 = math.floor(min(p.cand_lo[c] for c in candidates)) - 1
    span_lo = min(p.cand_lo[c] for c in candidates)
    span_hi = max(p.cand_hi[c] for c in candidates)
    min_len = math.ceil(p.min_duration_s - 1e-9)
    rates = [
        r
        for c in candidates
        for r in (p.up_bps[p.cand_sc[c]][p.cand_st[c]], p.down_bps[p.cand_sc[c]][p.cand_st[c]])
        if r > 0
    ]
    unit = max(1.0, 10.0 ** math.floor(math.log10(min(rates))) / 100.0) if rates else 1.0

    station_iv: dict[int, list[cp_model.IntervalVar]] = {}
    craft_iv: dict[int, list[cp_model.IntervalVar]] = {}
    for held in context:
        setup_f, turn_f = p.setup_s[held.st], p.turnaround_s[held.st]
        if held.end_s + turn_f < span_lo - setup_f or held.start_s - setup_f > span_hi + turn_f:
            continue
        a = math.floor(held.start_s - setup_f) - t0
        z = math.ceil(held.end_s + turn_f) - t0
        station_iv.setdefault(held.st, []).append(model.NewFixedSizeIntervalVar(a, z - a, ""))
        a, z = math.floor(held.start_s) - t0, math.ceil(held.end_s) - t0
        craft_iv.setdefault(held.sc, []).append(model.NewFixedSizeIntervalVar(a, z - a, ""))

    present: dict[int, cp_model.IntVar] = {}
    start: dict[int, cp_model.IntVar] = {}
    end: dict[int, cp_model.IntVar] = {}
    length: dict[int, cp_model.IntVar] = {}
    objective_terms: list[cp_model.LinearExprT] = []
    by_sc: dict[int, list[int]] = {}
    for c in candidates:
        sc, st = p.cand_sc[c], p.cand_st[c]
        lo, hi = math.ceil(p.cand_lo[c]) - t0, math.floor(p.cand_hi[c]) - t0
        if hi - lo < min_len:
            continue
        setup, turn = math.ceil(p.setup_s[st]), math.ceil(p.turnaround_s[st])
        b = model.NewBoolVar(f"b{c}")
        s = model.NewIntVar(lo, hi, f"s{c}")
        e = model.NewIntVar(lo, hi, f"e{c}")
        d = model.NewIntVar(0, hi - lo, f"d{c}")
        model.Add(d == e - s)
        model.Add(d >= min_len).OnlyEnforceIf(b)
        model.Add(d == 0).OnlyEnforceIf(b.Not())
        occ = model.NewOptionalIntervalVar(s - setup, d + setup + turn, e + turn, b, f"o{c}")
        link = model.NewOptionalIntervalVar(s, d, e, b, f"l{c}")
        station_iv.setdefault(st, []).append(occ)
        craft_iv.setdefault(sc, []).append(link)
        present[c], start[c], end[c], length[c] = b, s, e, d
        by_sc.setdefault(sc, []).append(c)
        cap = (p.up_bps[sc][st] + p.down_bps[sc][st]) / unit
        excess_w = round(EXCESS_WEIGHT * WEIGHT_SCALE * p.priority[sc])
        objective_terms.append(excess_w * round(cap) * d)

    for st, ivs in station_iv.items():
        model.AddCumulative(ivs, [1] * len(ivs), p.antennas[st])
    for sc, ivs in craft_iv.items():
        if len(ivs) > p.radios[sc]:
            model.AddCumulative(ivs, [1] * len(ivs), p.radios[sc])

    context_by_sc: dict[int, list[Booking]] = {}
    for held in context:
        context_by_sc.setdefault(held.sc, []).append(held)
    for sc, cands in by_sc.items():
        mine = context_by_sc.get(sc, [])
        for demand, rate in ((p.demand_up[sc], p.up_bps[sc]), (p.demand_down[sc], p.down_bps[sc])):
            if not demand.size_bytes:
                continue
            deliveries = [(m.end_s, rate[m.st] * (m.end_s - m.start_s)) for m in mine]
            remaining = edf_fill(demand, deliveries)[4]
            routed: dict[int, list[cp_model.IntVar]] = {c: [] for c in cands}
            for j, left in enumerate(remaining):
                left_u = int(left // unit)
                deadline = demand.deadline_s[j]
                if left_u <= 0:
                    continue
                flows = []
                for c in cands:
                    if p.cand_lo[c] + p.min_duration_s > deadline:
                        continue
                    y = model.NewIntVar(0, left_u, "")
                    if p.cand_hi[c] > deadline:
                        ok = model.NewBoolVar("")
                        model.Add(y == 0).OnlyEnforceIf(ok.Not())
                        model.Add(end[c] <= math.floor(deadline) - t0).OnlyEnforceIf(ok)
                    flows.append(y)
                    routed[c].append(y)
                    weight = round(WEIGHT_SCALE * demand.weight[j] - EXCESS_WEIGHT * WEIGHT_SCALE)
                    objective_terms.append(weight * y)
                if flows:
                    model.Add(sum(flows) <= left_u)
            for c, ys in routed.items():
                if ys:
                    cap = math.floor(rate[p.cand_st[c]] / unit)
                    model.Add(sum(ys) <= cap * length[c])

    model.Maximize(sum(objective_terms))
    _hint_from_plan(model, p, hint, present, start, end, length, t0)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.001, time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, []
    out = []
    for c, lit in present.items():
        if solver.BooleanValue(lit):
            out.append(
                Booking(
                    p.cand_sc[c],
                    p.cand_st[c],
                    float(solver.Value(start[c]) + t0),
                    float(solver.Value(end[c]) + t0),
                    cand=c,
                )
            )
    return name, out


def _hint_from_plan(
    model: cp_model.CpModel,
    p: Problem,
    hint: list[Booking],
    present: dict[int, cp_model.IntVar],
    start: dict[int, cp_model.IntVar],
    end: dict[int, cp_model.IntVar],
    length: dict[int, cp_model.IntVar],
    t0: int,
) -> dict[int, int | None]:
    """Hint each candidate from a previous plan: the booking of the same spacecraft and
    station that starts inside the candidate's window. Returns each candidate's hinted
    length in seconds, or None where the plan does not use it."""
    hinted: dict[tuple[int, int], list[Booking]] = {}
    for h in hint:
        hinted.setdefault((h.sc, h.st), []).append(h)
    spans: dict[int, int | None] = {}
    for c in present:
        win_lo, win_hi = p.cand_lo[c], p.cand_hi[c]
        match = [
            h
            for h in hinted.get((p.cand_sc[c], p.cand_st[c]), [])
            if win_lo - 1 <= h.start_s <= win_hi
        ]
        model.AddHint(present[c], bool(match))
        spans[c] = None
        if match:
            first, last = math.ceil(win_lo) - t0, math.floor(win_hi) - t0
            s_hint = min(max(math.ceil(match[0].start_s) - t0, first), last)
            e_hint = min(max(math.floor(match[0].end_s) - t0, s_hint), last)
            model.AddHint(start[c], s_hint)
            model.AddHint(end[c], e_hint)
            model.AddHint(length[c], e_hint - s_hint)
            spans[c] = e_hint - s_hint
    return spans


def _upper_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The concave upper hull of points sorted by x."""
    hull: list[tuple[float, float]] = []
    for x, y in points:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (y2 - y1) * (x - x1) <= (y - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        hull.append((x, y))
    return hull


def solve_curves(
    problem: Problem,
    candidates: list[int],
    context: list[Booking],
    hint: list[Booking],
    time_limit_s: float,
    *,
    workers: int = 1,
    seed: int = 0,
) -> tuple[str, list[Booking]]:
    """Like ``solve``, for a neighbourhood of a larger plan: each candidate's worth is the
    true marginal objective (``problem.objective``, deadline-order filling included) of a
    contact of that length given the rest of the plan, sampled and replaced by its concave
    hull. Two candidates of one spacecraft are capped together by the larger of their
    best worths (they share demand)."""
    p = problem
    if not candidates:
        return "OPTIMAL", []
    context_by_sc: dict[int, list[Booking]] = {}
    for held in context:
        context_by_sc.setdefault(held.sc, []).append(held)
    base = {
        sc: objective(p, sc, context_by_sc.get(sc, [])) for sc in {p.cand_sc[c] for c in candidates}
    }
    min_len = math.ceil(p.min_duration_s - 1e-9)
    curves: dict[int, list[tuple[float, float]]] = {}
    top = 0.0
    for c in candidates:
        sc, st = p.cand_sc[c], p.cand_st[c]
        w_lo, w_hi = p.cand_lo[c], p.cand_hi[c]
        span = w_hi - w_lo
        if span < min_len:
            continue
        lengths = {float(min_len), span}
        rate = p.up_bps[sc][st] + p.down_bps[sc][st]
        for k in range(1, 6):
            lengths.add(min_len + (span - min_len) * k / 6.0)
        for demand, per_s in (
            (p.demand_up[sc], p.up_bps[sc][st]),
            (p.demand_down[sc], p.down_bps[sc][st]),
        ):
            total = 0.0
            for size in demand.size_bytes:
                total += size
                if per_s > 0 and min_len < total / per_s < span:
                    lengths.add(total / per_s)
        mine = context_by_sc.get(sc, [])
        points = []
        for length_s in sorted(lengths):
            trial = Booking(sc, st, w_lo, w_lo + length_s)
            gain = objective(p, sc, [*mine, trial]) - base[sc]
            points.append((length_s, max(0.0, gain)))
        if rate <= 0 or points[-1][1] <= 0.0:
            continue
        curves[c] = _upper_hull(points)
        top = max(top, max(y for _, y in points))
    if not curves:
        return "OPTIMAL", []
    scale = top / 1e6
    model = cp_model.CpModel()
    t0 = math.floor(min(p.cand_lo[c] for c in curves)) - 1
    span_lo = min(p.cand_lo[c] for c in curves)
    span_hi = max(p.cand_hi[c] for c in curves)
    station_iv: dict[int, list[cp_model.IntervalVar]] = {}
    craft_iv: dict[int, list[cp_model.IntervalVar]] = {}
    for held in context:
        setup_f, turn_f = p.setup_s[held.st], p.turnaround_s[held.st]
        if held.end_s + turn_f < span_lo - setup_f or held.start_s - setup_f > span_hi + turn_f:
            continue
        a = math.floor(held.start_s - setup_f) - t0
        z = math.ceil(held.end_s + turn_f) - t0
        station_iv.setdefault(held.st, []).append(model.NewFixedSizeIntervalVar(a, z - a, ""))
        a, z = math.floor(held.start_s) - t0, math.ceil(held.end_s) - t0
        craft_iv.setdefault(held.sc, []).append(model.NewFixedSizeIntervalVar(a, z - a, ""))
    present: dict[int, cp_model.IntVar] = {}
    start: dict[int, cp_model.IntVar] = {}
    end: dict[int, cp_model.IntVar] = {}
    length: dict[int, cp_model.IntVar] = {}
    value: dict[int, cp_model.IntVar] = {}
    lines_of: dict[int, list[tuple[int, int]]] = {}
    worth: dict[int, list[cp_model.IntVar]] = {}
    best_of: dict[int, int] = {}
    for c, hull in curves.items():
        sc, st = p.cand_sc[c], p.cand_st[c]
        lo, hi = math.ceil(p.cand_lo[c]) - t0, math.floor(p.cand_hi[c]) - t0
        setup, turn = math.ceil(p.setup_s[st]), math.ceil(p.turnaround_s[st])
        b = model.NewBoolVar("")
        s = model.NewIntVar(lo, hi, "")
        e = model.NewIntVar(lo, hi, "")
        d = model.NewIntVar(0, hi - lo, "")
        model.Add(d == e - s)
        model.Add(d >= min_len).OnlyEnforceIf(b)
        model.Add(d == 0).OnlyEnforceIf(b.Not())
        station_iv.setdefault(st, []).append(
            model.NewOptionalIntervalVar(s - setup, d + setup + turn, e + turn, b, "")
        )
        craft_iv.setdefault(sc, []).append(model.NewOptionalIntervalVar(s, d, e, b, ""))
        peak = math.floor(max(y for _, y in hull) / scale)
        v = model.NewIntVar(0, peak, "")
        model.Add(v == 0).OnlyEnforceIf(b.Not())
        if len(hull) == 1:
            model.Add(v <= peak)
        lines = []
        for (x1, y1), (x2, y2) in itertools.pairwise(hull):
            slope = (y2 - y1) / (x2 - x1) / scale
            intercept = y1 / scale - slope * x1
            lines.append((round(slope * 1000), round(intercept * 1000) + 1000))
        for a_k, b_k in lines:
            # v <= slope * d + intercept, for a present contact (d >= min_len).
            model.Add(v * 1000 <= a_k * d + b_k).OnlyEnforceIf(b)
        present[c], start[c], end[c], length[c], value[c] = b, s, e, d, v
        lines_of[c] = lines
        worth.setdefault(sc, []).append(v)
        best_of[sc] = max(best_of.get(sc, 0), peak)
    for st, ivs in station_iv.items():
        model.AddCumulative(ivs, [1] * len(ivs), p.antennas[st])
    for sc, ivs in craft_iv.items():
        if len(ivs) > p.radios[sc]:
            model.AddCumulative(ivs, [1] * len(ivs), p.radios[sc])
    for sc, vs in worth.items():
        if len(vs) > 1:
            model.Add(sum(vs) <= best_of[sc])
    model.Maximize(sum(v for vs in worth.values() for v in vs))
    spans = _hint_from_plan(model, p, hint, present, start, end, length, t0)
    for c, hinted_s in spans.items():
        if hinted_s is not None:
            caps = [(a_k * hinted_s + b_k) // 1000 for a_k, b_k in lines_of[c]]
            top_v = value[c].Proto().domain[1]
            model.AddHint(value[c], max(0, min([top_v, *caps])))
        else:
            model.AddHint(start[c], start[c].Proto().domain[0])
            model.AddHint(end[c], start[c].Proto().domain[0])
            model.AddHint(length[c], 0)
            model.AddHint(value[c], 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.001, time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, []
    return name, [
        Booking(
            p.cand_sc[c],
            p.cand_st[c],
            float(solver.Value(start[c]) + t0),
            float(solver.Value(end[c]) + t0),
            cand=c,
        )
        for c, lit in present.items()
        if solver.BooleanValue(lit)
    ]
