"""Contact plan benchmark: the optimised planner versus greedy earliest-pass-first.

Run ``.venv/bin/python bench/plan.py`` (``--quick`` for 200 spacecraft x 8 stations x 6 h).
Passes come from ``orbital.passes`` on the Walker shell of ``bench/passes.py`` (550 km,
53 deg) over its globe-spread stations (1-3 antennas, 60 s setup, 120 s turnaround, one
station in maintenance for 2 h). The transfer queue is drawn from a fixed seed: per
spacecraft 0-6 transfers, 60% downlinks (results) and 40% uplinks (artefacts), sizes
log-uniform from 5 MB to 40 GB, priorities 1-10, deadlines 2-30 h from the start;
spacecraft priorities 1-10. It prints, for both planners from the same run: time to plan,
contacts, bytes and priority-weighted bytes delivered before deadline, transfers whose
deadline is missed, and the optimised/greedy ratio; also the planner's own greedy fallback
(budget 0: no CP-SAT) to show what the solver adds. Then the transfer planner puts the
queue's 4 MiB chunks onto the optimised contacts (as ``transfer_plan_refresh`` does after
every replan): time, transfers on time, at risk and unplanned, and the bytes it carries
before deadline against the contact plan's own score (the same fill, in whole chunks).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from passes import EPOCH, ground_stations, walker_shell
from sgp4.exporter import export_tle

from orbital import passes, propagation, timescales
from scheduling.planners.contacts import (
    CandidatePass,
    PlanRequest,
    PlanResult,
    SpacecraftSpec,
    StationSpec,
    Transfer,
    plan_baseline,
    plan_contacts,
)
from scheduling.planners.transfers import LinkWindow, QueuedTransfer, plan_transfers

SEED = 20261124


def build_request(n_sats: int, n_stations: int, hours: float, budget_s: float) -> PlanRequest:
    rng = np.random.default_rng(SEED)
    sats = walker_shell(n_sats)
    geo = ground_stations(n_stations)
    orbit_list = []
    for i, sat in enumerate(sats):
        line1, line2 = export_tle(sat)
        orbit_list.append(propagation.TleOrbit(line1, line2, spacecraft=i))
    start, end = EPOCH, EPOCH + timedelta(hours=hours)
    table = passes.find_passes(orbit_list, geo, start, end)
    t0, t1 = timescales.unix_seconds(start), timescales.unix_seconds(end)
    candidates = tuple(
        CandidatePass(
            spacecraft=int(table.orbit_index[k]),
            station=int(table.station_index[k]),
            aos_s=float(table.aos_s[k]),
            los_s=float(table.los_s[k]),
            max_elevation_deg=float(table.max_elevation_deg[k]),
            aos_clipped=bool(table.aos_clipped[k]),
            los_clipped=bool(table.los_clipped[k]),
        )
        for k in range(len(table))
    )
    spacecraft = tuple(
        SpacecraftSpec(
            key=i,
            priority=int(rng.integers(1, 11)),
            radios=1,
            uplink_rate_bps=float(rng.choice([50e6, 100e6])),
            downlink_rate_bps=float(rng.choice([200e6, 400e6, 800e6])),
        )
        for i in range(n_sats)
    )
    stations = tuple(
        StationSpec(
            key=g,
            antennas=1 + g % 3,
            uplink_rate_bps=100e6,
            downlink_rate_bps=600e6 if g % 2 else 300e6,
            setup_s=60.0,
            turnaround_s=120.0,
            maintenance=((t0 + 6 * 3600.0, t0 + 8 * 3600.0),) if g == 0 else (),
        )
        for g in range(n_stations)
    )
    transfers = []
    for i in range(n_sats):
        for j in range(int(rng.integers(0, 7))):
            size = float(np.exp(rng.uniform(np.log(5e6), np.log(40e9))))
            transfers.append(
                Transfer(
                    key=f"{i}-{j}",
                    spacecraft=i,
                    size_bytes=round(size),
                    deadline_s=t0 + float(rng.uniform(2.0, 30.0)) * 3600.0 * hours / 24.0,
                    priority=int(rng.integers(1, 11)),
                    direction="down" if rng.random() < 0.6 else "up",
                )
            )
    return PlanRequest(
        passes=candidates,
        spacecraft=spacecraft,
        stations=stations,
        transfers=tuple(transfers),
        window_start_s=t0,
        window_end_s=t1,
        min_duration_s=60.0,
        time_budget_s=budget_s,
        seed=SEED % 1000,
    )


def row(name: str, seconds: float, result: PlanResult) -> str:
    s = result.score
    return (
        f"{name:<26} {seconds:8.2f} {len(result.contacts):9d} {s.delivered_bytes / 1e12:11.3f} "
        f"{s.weighted_bytes / 1e12:12.2f} {s.missed_deadlines:7d}  {result.method}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 x 8 x 6 h")
    parser.add_argument("--budget", type=float, default=None, help="planner time budget, s")
    args = parser.parse_args()
    n_sats, n_stations, hours = (200, 8, 6.0) if args.quick else (1000, 20, 24.0)
    budget = args.budget if args.budget is not None else (3.0 if args.quick else 7.0)
    began = time.perf_counter()
    request = build_request(n_sats, n_stations, hours, budget)
    setup_s = time.perf_counter() - began
    demand = sum(t.size_bytes for t in request.transfers)
    print(
        f"contact plan {n_sats} spacecraft x {n_stations} stations x {hours:g} h from "
        f"{EPOCH:%Y-%m-%d}: {len(request.passes)} passes, {len(request.transfers)} transfers, "
        f"{demand / 1e12:.2f} TB waiting (passes + queue built in {setup_s:.1f} s)"
    )
    began = time.perf_counter()
    base = plan_baseline(request)
    base_s = time.perf_counter() - began
    began = time.perf_counter()
    fallback = plan_contacts(replace(request, time_budget_s=0.0))
    fallback_s = time.perf_counter() - began
    began = time.perf_counter()
    best = plan_contacts(request)
    best_s = time.perf_counter() - began
    print(
        f"{'planner':<26} {'time s':>8} {'contacts':>9} {'TB on time':>11} "
        f"{'weighted TB':>12} {'missed':>7}  method"
    )
    print(row("greedy earliest-pass-first", base_s, base))
    print(row("value greedy (no solver)", fallback_s, fallback))
    print(row("optimised", best_s, best))
    ratio = best.score.weighted_bytes / max(base.score.weighted_bytes, 1.0)
    print(
        f"priority-weighted bytes before deadline: optimised / greedy = {ratio:.3f} "
        f"({(ratio - 1) * 100:+.1f}%); bytes {best.score.delivered_bytes / max(base.score.delivered_bytes, 1):.3f}x; "
        f"stats { ({k: round(v, 2) for k, v in best.stats.items()}) }"
    )
    transfer_plan(request, best)


def transfer_plan(request: PlanRequest, result: PlanResult, chunk: int = 4 << 20) -> None:
    windows = [
        LinkWindow(
            key=k,
            spacecraft=c.spacecraft,
            start_s=c.start_s,
            end_s=c.end_s,
            up_bytes_per_s=c.uplink_bytes / c.duration_s,
            down_bytes_per_s=c.downlink_bytes / c.duration_s,
        )
        for k, c in enumerate(result.contacts)
    ]
    queue = []
    for t in request.transfers:
        size = int(t.size_bytes)
        count = -(-size // chunk)
        queue.append(
            QueuedTransfer(
                key=t.key,
                spacecraft=t.spacecraft,
                direction=t.direction,
                pending_chunks=count,
                chunk_bytes=chunk,
                last_chunk_bytes=size - (count - 1) * chunk,
                last_chunk_pending=True,
                priority=t.priority,
                deadline_s=t.deadline_s,
            )
        )
    began = time.perf_counter()
    forecasts = plan_transfers(transfers=queue, windows=windows, now_s=request.window_start_s)
    took = time.perf_counter() - began
    by_key = {t.key: t for t in request.transfers}
    on_time = sum(1 for f in forecasts.values() if not f.deadline_risk)
    unplanned = sum(1 for f in forecasts.values() if f.eta_s is None)
    carried = sum(
        sum(a.bytes for a in f.allocations if a.end_s <= by_key[f.transfer].deadline_s)
        for f in forecasts.values()
    )
    chunks = sum(a.chunk_count for f in forecasts.values() for a in f.allocations)
    print(
        f"transfer plan: {len(queue)} transfers, {chunks} chunks of 4 MiB onto "
        f"{len(windows)} contacts in {took:.2f} s; {on_time} on time, "
        f"{len(queue) - on_time} at risk ({unplanned} not fully planned in the window); "
        f"{carried / 1e12:.3f} TB before deadline = "
        f"{carried / max(result.score.delivered_bytes, 1):.3f} of the contact plan's score"
    )


if __name__ == "__main__":
    main()
