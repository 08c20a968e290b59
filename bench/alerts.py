"""Alerts benchmark (make bench): what limit rules cost the ingest path, and how long a
crossing takes to reach a webhook.

1. Ingest throughput through the ingest service (validation, COPY into TimescaleDB, the
   observers) for a 200-node fleet at 30 metrics a node, with no rules and with 1,000
   active rules (five per node: above, below, outside, a counter rate and a glob), in the
   same run, the two alternating so drift hits both alike. Target: >= 85 %.
2. Crossing-to-webhook latency: a real Celery worker, a local webhook receiver; each
   crossing is ingested (the commit wakes a worker) and timed until the signed POST
   arrives. Target: p99 < 2 s.

    .venv/bin/python bench/alerts.py            # about two minutes
    .venv/bin/python bench/alerts.py --quick
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common import ROOT, percentiles, setup_django, table

METRICS = [
    "battery_soc",
    "battery_temp_c",
    "power_in_w",
    "power_draw_w",
    "cpu_temp_c",
    "gpu_temp_c",
    "gpu_util",
    "gpu_power_w",
    "radiator_temp_c",
    "ecc_errors_total",
    "ecc_uncorrected_total",
    "xid_errors_total",
    "seu_total",
    "link_snr_db",
    "link_rate_bps",
    "storage_used_bytes",
    "storage_free_bytes",
    "memory_used_ratio",
] + [f"gpu{i}_temp_c" for i in range(12)]


def fleet(nodes: int) -> list[Any]:
    from ops.fleet.models import Spacecraft
    from ops.fleet.services import spacecraft_create

    craft = []
    for i in range(nodes):
        slug = f"node-{i:03d}"
        found = Spacecraft.objects.filter(slug=slug).first()
        craft.append(found or spacecraft_create(slug=slug, name=slug, role="geo"))
    return craft


def make_rules(craft: list[Any]) -> int:
    from ops.alerts.services.rules import rule_create

    count = 0
    for node in craft:
        scoped = {"scope": "spacecraft", "spacecraft": node}
        specs = [
            (
                "gpu-hot",
                {
                    "metric": "gpu_temp_c",
                    "condition": "above",
                    "levels": [
                        {"severity": "warning", "high": 80},
                        {"severity": "critical", "high": 90},
                    ],
                    "clear_high": 75,
                },
            ),
            (
                "soc-low",
                {
                    "metric": "battery_soc",
                    "condition": "below",
                    "levels": [{"severity": "distress", "low": 5}],
                },
            ),
            (
                "radiator",
                {
                    "metric": "radiator_temp_c",
                    "condition": "outside",
                    "levels": [{"severity": "warning", "low": -40, "high": 85}],
                },
            ),
            (
                "ecc-rate",
                {
                    "metric": "ecc_errors_total",
                    "condition": "counter_rate_above",
                    "levels": [{"severity": "warning", "high": 50}],
                },
            ),
            (
                "gpus-hot",
                {
                    "metric": "gpu*_temp_c",
                    "condition": "above",
                    "levels": [{"severity": "watch", "high": 95}],
                    "hold_samples": 3,
                },
            ),
        ]
        for key, values in specs:
            rule_create(
                key=f"{key}-{node.slug}", values={"name": key, **scoped, **values}, actor="bench"
            )
            count += 1
    return count


def clear_rules() -> None:
    from ops.alerts.models import Rule, RuleSetVersion

    Rule.objects.all().delete()
    RuleSetVersion.objects.update_or_create(pk=1, defaults={"version": int(time.time_ns())})


def batches(slugs: list[str], start: datetime, seconds: int, per_batch_s: int) -> list[Any]:
    """Fleet data, ``per_batch_s`` seconds of every node per request (values in limits,
    counters rising)."""
    from telemetry.ingest import Samples

    out = []
    for first in range(0, seconds, per_batch_s):
        samples = Samples()
        for s in range(first, min(seconds, first + per_batch_s)):
            ts = start + timedelta(seconds=s)
            for n, slug in enumerate(slugs):
                samples.nodes.append(slug)
                samples.times.append(ts)
                # Counters rise 3 a second on every node, whatever the batch.
                counter = float(int(ts.timestamp()) * 3 + n)
                samples.metrics.append(
                    {
                        m: (
                            counter
                            if m.endswith("_total")
                            else 20.0 + (s * 7 + n * 13 + k) % 50 / 3.0
                        )
                        for k, m in enumerate(METRICS)
                    }
                )
                samples.where.append(f"samples[{len(samples.where)}]")
        out.append(samples)
    return out


def ingest_rate(work: list[Any], now: datetime) -> float:
    from telemetry.services import telemetry_ingest

    points = sum(s.points for s in work)
    started = time.perf_counter()
    for samples in work:
        telemetry_ingest(samples=samples, now=now)
    return points / (time.perf_counter() - started)


OBSERVED: list[float] = []


def time_the_observer() -> None:
    """Wrap the alerts observer to time it: its share of each ingest is measured in the
    same batches as the ingest itself, so the machine's load cancels out."""
    from ops.alerts import hooks
    from telemetry import observers

    def timed(ingested: Any) -> None:
        began = time.perf_counter()
        hooks.on_ingest(ingested)
        OBSERVED.append(time.perf_counter() - began)

    observers.register_ingest_observer("ops.alerts", timed)


def set_rules(active: bool) -> None:
    from ops.alerts.models import Rule, RuleSetVersion
    from ops.alerts.services import ruleset

    Rule.objects.update(enabled=active)
    RuleSetVersion.objects.update_or_create(pk=1, defaults={"version": time.time_ns()})
    ruleset.forget()


def throughput(args: argparse.Namespace) -> list[list[str]]:
    """Pairs of short runs, with and without the rules, alternating which goes first: the
    machine's load changes between pairs, much less within one. The figure is the median
    of the pairs' ratios; the rates are each mode's best."""
    import statistics

    craft = fleet(args.nodes)
    slugs = [c.slug for c in craft]
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=1)
    clear_rules()
    rules_count = make_rules(craft)
    # Warm up (registry, caches, the hypertable's chunk) outside the timing.
    set_rules(False)
    ingest_rate(batches(slugs, start - timedelta(hours=1), 4, 2), now)
    time_the_observer()
    cursor = 0
    rates: dict[str, list[float]] = {"none": [], "rules": []}
    shares: list[float] = []
    compile_s: list[float] = []
    ratios: list[float] = []
    for pair in range(args.pairs):
        got: dict[str, float] = {}
        for mode in ("none", "rules") if pair % 2 == 0 else ("rules", "none"):
            set_rules(mode == "rules")
            # The first batch after a rule change compiles the rules (timed apart): the
            # steady state is what a fleet sees between rule edits.
            warm = batches(slugs, start + timedelta(seconds=cursor), args.batch_s, args.batch_s)
            cursor += args.batch_s
            began = time.perf_counter()
            ingest_rate(warm, now)
            if mode == "rules":
                compile_s.append(time.perf_counter() - began)
            work = batches(slugs, start + timedelta(seconds=cursor), args.seconds, args.batch_s)
            cursor += args.seconds
            OBSERVED.clear()
            began = time.perf_counter()
            got[mode] = ingest_rate(work, now)
            if mode == "rules":
                shares.append(sum(OBSERVED) / (time.perf_counter() - began))
            rates[mode].append(got[mode])
        ratios.append(got["rules"] / got["none"])
    clear_rules()
    points = args.nodes * len(METRICS) * args.batch_s
    print(
        f"fleet {args.nodes} nodes x {len(METRICS)} metrics, {points} points per request, "
        f"{rules_count} rules; {args.pairs} pairs of runs, ratios "
        f"{', '.join(f'{r:.2f}' for r in ratios)}"
    )
    ratio = statistics.median(ratios)
    return [
        ["ingest, no rules (best run)", f"{max(rates['none']):,.0f} points/s", "1.00"],
        [
            f"ingest, {rules_count} rules (best run)",
            f"{max(rates['rules']):,.0f} points/s",
            f"{ratio:.2f} median of pairs (target >= 0.85)",
        ],
        [
            "rule evaluation, share of ingest time",
            f"{statistics.median(shares) * 100:.1f} %",
            f"{1 - statistics.median(shares):.2f} of ingest left (same batches)",
        ],
        [
            "first batch after a rule edit",
            f"{statistics.median(compile_s) * 1000:.0f} ms",
            "compiles the rules once per process",
        ],
    ]


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                import orjson

                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body["kind"] == "firing":
                    with receiver.lock:
                        receiver.arrivals[int(body["alert"]["id"])] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def latency(args: argparse.Namespace, url: str) -> list[list[str]]:
    from django.conf import settings

    from ops.alerts.models import Alert, Channel
    from ops.alerts.services import ruleset
    from ops.alerts.services.rules import rule_create
    from telemetry.ingest import Samples
    from telemetry.services import telemetry_ingest

    queue = f"bench-alerts-{uuid.uuid4().hex[:8]}"
    settings.ALERTS_QUEUE = queue
    receiver = Receiver()
    Channel.objects.create(
        name=f"bench-{queue}", kind="webhook", url=receiver.url, secret="bench", is_default=True
    )
    node = fleet(1)[0]
    rule_create(
        key="bench-latency",
        values={
            "name": "latency",
            "metric": "bench_value",
            "condition": "above",
            "levels": [{"severity": "warning", "high": 1}],
        },
        actor="bench",
    )
    ruleset.forget()
    env = {**os.environ, "DATABASE_URL": url, "ALERTS_QUEUE": queue}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "zenith",
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from zenith.celery import ping

        ping.apply_async(args=["x"], queue=queue).get(timeout=60)
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(hours=1)
        samples_taken: list[float] = []
        for i in range(args.crossings):
            ts = start + timedelta(seconds=2 * i)
            sent = time.perf_counter()
            telemetry_ingest(
                samples=Samples(
                    nodes=[node.slug], times=[ts], metrics=[{"bench_value": 5.0}], where=["s"]
                ),
                now=now,
            )
            alert = Alert.objects.filter(rule_key="bench-latency").order_by("-id").first()
            assert alert is not None
            deadline = time.perf_counter() + 10
            while alert.pk not in receiver.arrivals and time.perf_counter() < deadline:
                time.sleep(0.001)
            if alert.pk in receiver.arrivals:
                samples_taken.append(receiver.arrivals[alert.pk] - sent)
            telemetry_ingest(
                samples=Samples(
                    nodes=[node.slug],
                    times=[ts + timedelta(seconds=1)],
                    metrics=[{"bench_value": 0.0}],
                    where=["s"],
                ),
                now=now,
            )
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.server.shutdown()
    if args.verbose:
        print("latencies (ms):", [round(x * 1000) for x in samples_taken])
    p50, p99 = percentiles(samples_taken)
    return [
        ["crossing -> webhook p50", f"{p50 * 1000:.0f} ms", ""],
        [
            "crossing -> webhook p99",
            f"{p99 * 1000:.0f} ms",
            f"{'within' if p99 < 2 else 'OVER'} the 2 s target ({len(samples_taken)}/"
            f"{args.crossings} delivered)",
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=8, help="seconds of fleet data per run")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--batch-s", type=int, default=2, help="seconds of fleet per request")
    parser.add_argument("--crossings", type=int, default=100)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.pairs, args.crossings = 6, 3, 30
    url = setup_django("zenith_bench_alerts")
    rows = [] if args.skip_throughput else throughput(args)
    rows += latency(args, url)
    print(table(rows, ["alerts", "figure", "ratio / target"]))


if __name__ == "__main__":
    main()
