"""Contact planner (pure): constraints, freeze horizon and diff, objective, solver fallback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace

import pytest

from scheduling.planners.contacts import (
    CandidatePass,
    Contact,
    PlanRequest,
    PlanResult,
    SpacecraftSpec,
    StationSpec,
    Transfer,
    plan_baseline,
    plan_contacts,
)

T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z
GB = 1e9
RATE = 200e6  # bit/s: 25 MB/s, 15 GB in a 600 s contact


def sc(key: str, priority: int = 5, radios: int = 1) -> SpacecraftSpec:
    return SpacecraftSpec(
        key=key, priority=priority, radios=radios, uplink_rate_bps=RATE, downlink_rate_bps=RATE
    )


def station(key: str, **kw: object) -> StationSpec:
    base: dict[str, object] = dict(
        antennas=1, uplink_rate_bps=RATE, downlink_rate_bps=RATE, setup_s=60.0, turnaround_s=120.0
    )
    base.update(kw)
    return StationSpec(key=key, **base)  # type: ignore[arg-type]


def p(craft: str, where: str, aos: float, los: float) -> CandidatePass:
    return CandidatePass(spacecraft=craft, station=where, aos_s=T0 + aos, los_s=T0 + los)


def down(craft: str, size: float, deadline: float = 86_400.0, priority: int = 5) -> Transfer:
    return Transfer(
        key=f"{craft}-{size}-{deadline}",
        spacecraft=craft,
        size_bytes=size,
        deadline_s=T0 + deadline,
        priority=priority,
    )


def request(
    passes: Sequence[CandidatePass],
    craft: Sequence[SpacecraftSpec],
    stations: Sequence[StationSpec],
    transfers: Sequence[Transfer],
    **kw: object,
) -> PlanRequest:
    base: dict[str, object] = dict(
        window_start_s=T0, window_end_s=T0 + 86_400.0, min_duration_s=60.0, time_budget_s=5.0
    )
    base.update(kw)
    return PlanRequest(
        passes=tuple(passes),
        spacecraft=tuple(craft),
        stations=tuple(stations),
        transfers=tuple(transfers),
        **base,  # type: ignore[arg-type]
    )


def check_valid(req: PlanRequest, result: PlanResult, fixed: Sequence[Contact] = ()) -> None:
    """Every rule a plan must keep (fixed contacts are exempt from all but overlap)."""
    stations = {s.key: s for s in req.stations}
    craft = {s.key: s for s in req.spacecraft}
    free = [c for c in result.contacts if c not in fixed]
    for c in free:
        st, s = stations[c.station], craft[c.spacecraft]
        assert 0 <= c.antenna < st.antennas
        assert c.duration_s >= req.min_duration_s - 1e-6
        assert st.serves(c.spacecraft)
        assert any(
            q.spacecraft == c.spacecraft
            and q.station == c.station
            and q.aos_s - 1e-6 <= c.start_s
            and c.end_s <= q.los_s + 1e-6
            for q in req.passes
        ), c
        for m0, m1 in st.maintenance:
            assert c.end_s + st.turnaround_s <= m0 or c.start_s - st.setup_s >= m1, c
        rate = min(s.downlink_rate_bps, st.downlink_rate_bps) / 8
        assert c.downlink_bytes == pytest.approx(rate * c.duration_s)
        now = req.window_start_s if req.now_s is None else req.now_s
        assert c.start_s >= now + req.freeze_s - 1e-6
        assert c.end_s <= req.window_end_s + 1e-6
    for a in result.contacts:
        for b in result.contacts:
            if a is b or a.start_s > b.start_s or (a.start_s == b.start_s and id(a) > id(b)):
                continue
            if a.station == b.station and a.antenna == b.antenna:
                st = stations[a.station]
                assert a.end_s + st.turnaround_s <= b.start_s - st.setup_s + 1e-6, (a, b)
    for key, spec in craft.items():
        mine = [c for c in result.contacts if c.spacecraft == key]
        for c in mine:
            overlapping = sum(1 for o in mine if o.start_s < c.end_s and o.end_s > c.start_s)
            assert overlapping <= spec.radios, (key, mine)


def of(result: PlanResult, craft: str) -> list[Contact]:
    return [c for c in result.contacts if c.spacecraft == craft]


def test_one_antenna_two_spacecraft_are_trimmed_to_share_it_with_setup_and_turnaround() -> None:
    # Both need 4 GB (160 s); one 600 s pass each, same time, one antenna.
    req = request(
        [p("a", "s", 0, 600), p("b", "s", 0, 600)],
        [sc("a"), sc("b")],
        [station("s")],
        [down("a", 4 * GB), down("b", 4 * GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert len(of(result, "a")) == 1 and len(of(result, "b")) == 1
    first, second = sorted(result.contacts, key=lambda c: c.start_s)
    assert second.start_s - first.end_s >= 180.0 - 1e-6
    assert result.score.missed_deadlines == 0
    assert result.score.delivered_bytes == pytest.approx(8 * GB)


def test_two_antennas_carry_two_whole_overlapping_contacts() -> None:
    req = request(
        [p("a", "s", 0, 600), p("b", "s", 0, 600), p("c", "s", 0, 600)],
        [sc("a"), sc("b"), sc("c", priority=1)],
        [station("s", antennas=2)],
        [down("a", 20 * GB), down("b", 20 * GB), down("c", 20 * GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert {c.antenna for c in result.contacts} == {0, 1}
    # The two high-priority spacecraft get the whole pass each; the low one nothing.
    assert [c.duration_s for c in of(result, "a")] == [pytest.approx(600.0)]
    assert [c.duration_s for c in of(result, "b")] == [pytest.approx(600.0)]
    assert of(result, "c") == []


@pytest.mark.parametrize("radios", [1, 2])
def test_spacecraft_radios_limit_simultaneous_links(radios: int) -> None:
    req = request(
        [p("a", "s1", 0, 600), p("a", "s2", 0, 600)],
        [sc("a", radios=radios)],
        [station("s1"), station("s2")],
        [down("a", 30 * GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    links = of(result, "a")
    overlap = links[0].start_s < links[-1].end_s and links[-1].start_s < links[0].end_s
    if radios == 1:
        assert len(links) <= 2 and (len(links) == 1 or not overlap)
        assert sum(c.duration_s for c in links) <= 600.0 + 1e-6
    else:
        assert len(links) == 2 and overlap
        assert result.score.delivered_bytes == pytest.approx(30 * GB)


def test_back_to_back_passes_respect_turnaround_then_setup() -> None:
    # B's pass starts 100 s after A's ends: 180 s of turnaround + setup are needed.
    req = request(
        [p("a", "s", 0, 300), p("b", "s", 400, 700)],
        [sc("a"), sc("b")],
        [station("s")],
        [down("a", 50 * GB), down("b", 50 * GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    (a,), (b,) = of(result, "a"), of(result, "b")
    assert b.start_s - a.end_s == pytest.approx(180.0, abs=1.0)
    assert a.duration_s + b.duration_s == pytest.approx(600.0 - 80.0, abs=2.0)


def test_maintenance_cuts_a_pass_and_excludes_one_inside_it() -> None:
    maint = ((T0 + 400.0, T0 + 600.0),)
    req = request(
        [p("a", "s", 0, 1000), p("b", "s", 420, 580)],
        [sc("a"), sc("b")],
        [station("s", maintenance=maint)],
        [down("a", 100 * GB), down("b", 1 * GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert of(result, "b") == []
    spans = sorted((c.start_s - T0, c.end_s - T0) for c in of(result, "a"))
    # Usable: [0, 280] before (turnaround) and [660, 1000] after (setup): both, apart.
    assert spans == [(0.0, 280.0), (660.0, 1000.0)]


def test_allow_and_deny_lists() -> None:
    passes = [p(k, g, 0, 600) for k in ("a", "b", "c") for g in ("open", "deny", "allow")]
    req = request(
        passes,
        [sc("a", radios=3), sc("b", radios=3), sc("c", radios=3)],
        [
            station("open", antennas=3),
            station("deny", antennas=3, deny=frozenset({"a"})),
            station("allow", antennas=3, allow=frozenset({"b"})),
        ],
        [down(k, 100 * GB) for k in ("a", "b", "c")],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    pairs = {(c.spacecraft, c.station) for c in result.contacts}
    assert pairs == {
        ("a", "open"),
        ("b", "open"),
        ("c", "open"),
        ("b", "deny"),
        ("c", "deny"),
        ("b", "allow"),
    }


def test_minimum_duration() -> None:
    req = request(
        [p("a", "s", 0, 59), p("b", "t", 0, 61)],
        [sc("a"), sc("b")],
        [station("s"), station("t")],
        [down("a", GB), down("b", GB)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert of(result, "a") == []
    assert [round(c.duration_s) for c in of(result, "b")] == [61]
    # Nor does the baseline book a too-short pass.
    assert of(plan_baseline(req), "a") == []


def test_freeze_horizon_keeps_fixed_contacts_and_diff_says_what_moved_and_why() -> None:
    stations = [station("s"), station("m")]
    craft = [sc("a"), sc("b", priority=9), sc("c")]
    passes = [
        p("a", "s", 0, 600),
        p("b", "s", 100, 700),
        p("a", "s", 1200, 1800),
        p("c", "m", 3000, 3600),
        p("c", "s", 5000, 5600),
    ]
    transfers = [down("a", 30 * GB), down("b", 30 * GB), down("c", 10 * GB)]
    # The previous plan: a's pass in progress, a's next one inside the freeze horizon,
    # c at station m (about to enter maintenance).
    in_progress = Contact("a", "s", 0, T0 + 0.0, T0 + 600.0, 15 * GB, 15 * GB)
    frozen = Contact("a", "s", 0, T0 + 1200.0, T0 + 1800.0, 15 * GB, 15 * GB)
    doomed = Contact("c", "m", 0, T0 + 3000.0, T0 + 3600.0, 15 * GB, 15 * GB)
    maint = ((T0 + 2900.0, T0 + 4000.0),)
    req = request(
        passes,
        craft,
        [stations[0], replace(stations[1], maintenance=maint)],
        transfers,
        now_s=T0 + 300.0,
        freeze_s=1000.0,
        previous=(in_progress, frozen, doomed),
    )
    result = plan_contacts(req)
    check_valid(req, result, fixed=(in_progress, frozen))
    # Fixed contacts are untouched even though b (priority 9) would rather have s now.
    assert in_progress in result.contacts and frozen in result.contacts
    assert of(result, "b") == []
    actions = {(e.action, e.contact.spacecraft, e.contact.station): e.reason for e in result.diff}
    kept = [e for e in result.diff if e.action == "kept"]
    assert {e.contact for e in kept} == {in_progress, frozen}
    assert {e.reason for e in kept} == {"in progress", "inside the freeze horizon"}
    assert "maintenance" in actions[("removed", "c", "m")]
    # c is moved to its later pass over s, and the diff says so.
    assert ("added", "c", "s") in actions
    assert [round(c.start_s - T0) for c in of(result, "c")] == [5000]


def test_replan_with_unchanged_inputs_keeps_everything() -> None:
    req = request(
        [p("a", "s", 0, 600), p("b", "s", 1000, 1600)],
        [sc("a"), sc("b")],
        [station("s")],
        [down("a", 5 * GB), down("b", 5 * GB)],
    )
    first = plan_contacts(req)
    again = plan_contacts(replace(req, previous=first.contacts))
    assert {e.action for e in again.diff} == {"kept"}
    assert {e.reason for e in again.diff} == {"unchanged"}
    assert len(again.diff) == len(first.contacts) == 2


def test_more_urgent_demand_wins_the_scarce_contact() -> None:
    # One 600 s pass both can use, 14 GB each (560 s): only one fits. a's deadline is
    # right after the pass; b has a second pass later and a relaxed deadline.
    req = request(
        [p("b", "s", 0, 600), p("a", "s", 0, 600), p("b", "s", 5000, 5600)],
        [sc("a"), sc("b")],
        [station("s")],
        [down("a", 14 * GB, deadline=900.0), down("b", 14 * GB, deadline=10_000.0)],
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert [round(c.start_s - T0) for c in of(result, "a")] == [0]
    assert [round(c.start_s - T0) for c in of(result, "b")] == [5000]
    assert result.score.missed_deadlines == 0
    # Earliest-pass-first hands the first pass to b, and a misses its deadline.
    baseline = plan_baseline(req)
    check_valid(req, baseline)
    assert baseline.score.missed_deadlines == 1


def test_deadlines_fill_in_order_within_one_spacecraft() -> None:
    # Only 7.5 GB (300 s) of capacity before the first deadline.
    req = request(
        [p("a", "s", 0, 300), p("a", "s", 2000, 2600)],
        [sc("a")],
        [station("s")],
        [down("a", 7 * GB, deadline=400.0), down("a", 8 * GB, deadline=3000.0)],
    )
    result = plan_contacts(req)
    assert result.score.missed_deadlines == 0
    assert result.score.delivered_bytes == pytest.approx(15 * GB)


def test_optimised_plan_beats_greedy_on_a_crafted_case() -> None:
    # Low-priority spacecraft rise first at one antenna; greedy gives them the whole
    # passes. The optimiser serves the priority-10 ones and trims the rest around them.
    passes, craft, transfers = [], [], []
    for k in range(4):
        lo, hi = f"lo{k}", f"hi{k}"
        passes += [p(lo, "s", k * 2000, k * 2000 + 600), p(hi, "s", k * 2000 + 30, k * 2000 + 630)]
        craft += [sc(lo, priority=1), sc(hi, priority=10)]
        transfers += [down(lo, 15 * GB), down(hi, 10 * GB, priority=8)]
    req = request(passes, craft, [station("s")], transfers)
    best, base = plan_contacts(req), plan_baseline(req)
    check_valid(req, best)
    check_valid(req, base)
    assert best.method.startswith("cp-sat")
    assert best.score.weighted_bytes >= 1.15 * base.score.weighted_bytes
    for k in range(4):
        assert sum(c.downlink_bytes for c in of(best, f"hi{k}")) >= 10 * GB - 1e6


def test_fallback_greedy_when_the_budget_is_tiny() -> None:
    passes, craft, transfers = [], [], []
    for k in range(30):
        passes += [p(f"x{k}", f"s{k % 3}", 300.0 * k, 300.0 * k + 500.0)]
        craft.append(sc(f"x{k}", priority=1 + k % 10))
        transfers.append(down(f"x{k}", (1 + k % 5) * GB))
    stations = [station(f"s{g}") for g in range(3)]
    tiny = request(passes, craft, stations, transfers, time_budget_s=0.0)
    result = plan_contacts(tiny)
    assert result.method == "greedy fallback"
    check_valid(tiny, result)
    assert result.contacts and result.score.delivered_bytes > 0
    solved = plan_contacts(replace(tiny, time_budget_s=10.0))
    assert solved.method.startswith("cp-sat")
    check_valid(tiny, solved)
    assert solved.score.weighted_bytes >= result.score.weighted_bytes - 1.0


def test_large_problems_are_decomposed() -> None:
    passes, craft, transfers = [], [], []
    for k in range(60):
        for g in range(4):
            passes.append(p(f"x{k}", f"s{g}", 97.0 * k + 1500.0 * g, 97.0 * k + 1500.0 * g + 480))
        craft.append(sc(f"x{k}", priority=1 + k % 10))
        transfers.append(down(f"x{k}", (1 + k % 7) * GB, deadline=3000.0 + 50.0 * k))
    req = request(
        passes,
        craft,
        [station(f"s{g}", antennas=1 + g % 2) for g in range(4)],
        transfers,
        max_exact_candidates=50,
        time_budget_s=2.0,
    )
    result = plan_contacts(req)
    check_valid(req, result)
    assert result.method == "greedy+cp-sat lns"
    assert result.score.weighted_bytes > plan_baseline(req).score.weighted_bytes


def test_the_core_imports_no_django() -> None:
    code = (
        "import sys, scheduling.planners.contacts\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_capacity_is_the_lower_rate_times_duration_per_direction() -> None:
    fast = SpacecraftSpec(key="a", uplink_rate_bps=80e6, downlink_rate_bps=800e6)
    req = request(
        [p("a", "s", 0, 400)],
        [fast],
        [station("s", uplink_rate_bps=40e6, downlink_rate_bps=1e9)],
        [
            down("a", 100 * GB),
            Transfer("up", "a", 1 * GB, T0 + 86_400.0, priority=9, direction="up"),
        ],
    )
    result = plan_contacts(req)
    (c,) = result.contacts
    assert c.duration_s == pytest.approx(400.0)
    assert c.uplink_bytes == pytest.approx(40e6 / 8 * 400.0)  # station's uplink is lower
    assert c.downlink_bytes == pytest.approx(800e6 / 8 * 400.0)  # spacecraft's downlink is
    # 2 GB of uplink capacity carries the 1 GB upload; the downlink is all used.
    assert result.score.delivered_bytes == pytest.approx(1 * GB + 800e6 / 8 * 400.0)
    assert result.score.missed_deadlines == 1


def test_contact_whose_pass_disappeared_is_removed_with_the_reason() -> None:
    # The previous plan booked a at 2000 s; a new orbit moved the pass to 2600 s.
    old = Contact("a", "s", 0, T0 + 2000.0, T0 + 2400.0, 10 * GB, 10 * GB)
    req = request(
        [p("a", "s", 2600, 3000)],
        [sc("a")],
        [station("s")],
        [down("a", 5 * GB)],
        previous=(old,),
    )
    result = plan_contacts(req)
    (removed,) = [e for e in result.diff if e.action == "removed"]
    assert removed.contact == old and "no longer predicted" in removed.reason
    (added,) = [e for e in result.diff if e.action == "added"]
    assert added.contact.start_s == T0 + 2600.0 and "new contact" in added.reason
