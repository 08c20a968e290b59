"""What a replan changed against the previous plan, and why."""

from __future__ import annotations

from scheduling.planners.contacts.types import Contact, DiffEntry, PlanRequest


def _fmt(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _removal_reason(request: PlanRequest, old: Contact, new: tuple[Contact, ...]) -> str:
    stations = {s.key: s for s in request.stations}
    known = {s.key for s in request.spacecraft}
    station = stations.get(old.station)
    if station is None or old.spacecraft not in known:
        return "station or spacecraft no longer in the plan"
    busy = (old.start_s - station.setup_s, old.end_s + station.turnaround_s)
    for m0, m1 in station.maintenance:
        if m0 < busy[1] and m1 > busy[0]:
            return f"station in maintenance {_fmt(m0)}..{_fmt(m1)}"
    if not station.serves(old.spacecraft):
        return "spacecraft no longer allowed at this station"
    if old.end_s > request.window_end_s:
        return "outside the planning window"
    covered = any(
        p.spacecraft == old.spacecraft
        and p.station == old.station
        and p.aos_s <= old.start_s + 0.5
        and p.los_s >= old.end_s - 0.5
        for p in request.passes
    )
    if not covered:
        return "pass no longer predicted over this interval (new orbit)"
    for c in new:
        if c.spacecraft == old.spacecraft and c.station == old.station:
            if c.start_s < old.end_s and c.end_s > old.start_s:
                return f"retimed to {_fmt(c.start_s)}..{_fmt(c.end_s)}"
    return "antenna time given to higher-value demand"


def plan_diff(
    request: PlanRequest, now_s: float, fixed: list[Contact], new: tuple[Contact, ...]
) -> tuple[DiffEntry, ...]:
    """``kept``/``removed`` for every previous contact not yet over at ``now_s``,
    ``added`` for every new contact that matches none of them."""
    out: list[DiffEntry] = []
    matched: set[int] = set()
    fixed_ids = {id(c) for c in fixed}
    for old in request.previous:
        if id(old) in fixed_ids:
            why = "in progress" if old.start_s <= now_s else "inside the freeze horizon"
            out.append(DiffEntry("kept", old, why))
            continue
        if old.end_s <= now_s:
            continue
        twin = next(
            (k for k, c in enumerate(new) if k not in matched and c.same_booking(old)), None
        )
        if twin is not None:
            matched.add(twin)
            out.append(DiffEntry("kept", new[twin], "unchanged"))
        else:
            out.append(DiffEntry("removed", old, _removal_reason(request, old, new)))
    fixed_keys = {(c.spacecraft, c.station, c.start_s) for c in fixed}
    for k, c in enumerate(new):
        if k in matched or (c.spacecraft, c.station, c.start_s) in fixed_keys:
            continue
        before = next(
            (
                o
                for o in request.previous
                if o.spacecraft == c.spacecraft
                and o.station == c.station
                and o.start_s < c.end_s
                and o.end_s > c.start_s
            ),
            None,
        )
        if before is not None:
            why = f"retimed from {_fmt(before.start_s)}..{_fmt(before.end_s)}"
        else:
            why = f"new contact: {c.capacity_bytes / 1e9:.2f} GB for waiting transfers"
        out.append(DiffEntry("added", c, why))
    return tuple(out)
