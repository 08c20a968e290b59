"""Ingest and query benchmark (make bench): HTTP JSON and line protocol end to end into
TimescaleDB, against raw psycopg binary COPY of the same rows in the same run; then query
latencies on a fleet-sized table against naive SQL baselines.

    .venv/bin/python bench/ingest.py                 # full run (several minutes)
    .venv/bin/python bench/ingest.py --quick         # small figures, a minute
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import Server, percentiles, setup_django, table

logging.getLogger("httpx").setLevel(logging.WARNING)

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
] + [f"gpu{i}_temp_c" for i in range(12)]  # 30 metrics per node


def make_samples(
    nodes: list[str], seconds: int, start: datetime
) -> list[tuple[str, datetime, dict[str, float]]]:
    out = []
    for s in range(seconds):
        ts = start + timedelta(seconds=s)
        for n, node in enumerate(nodes):
            out.append(
                (
                    node,
                    ts,
                    {
                        m: round(20.0 + (s * 7 + n * 13 + k) % 50 / 3.0, 3)
                        for k, m in enumerate(METRICS)
                    },
                )
            )
    return out


def json_bodies(samples: list[Any], per_batch: int) -> list[bytes]:
    import orjson

    per_sample = len(METRICS)
    step = max(1, per_batch // per_sample)
    return [
        orjson.dumps(
            {
                "samples": [
                    {"node": n, "ts": ts.isoformat().replace("+00:00", "Z"), "metrics": m}
                    for n, ts, m in samples[i : i + step]
                ]
            }
        )
        for i in range(0, len(samples), step)
    ]


def lp_bodies(samples: list[Any], per_batch: int) -> list[bytes]:
    per_sample = len(METRICS)
    step = max(1, per_batch // per_sample)
    bodies = []
    for i in range(0, len(samples), step):
        lines = []
        for n, ts, m in samples[i : i + step]:
            fields = ",".join(f"{k}={v}" for k, v in m.items())
            lines.append(f"node_health,node={n} {fields} {int(ts.timestamp()) * 10**9}")
        bodies.append("\n".join(lines).encode())
    return bodies


def post_all(
    url: str, path: str, token: str, bodies: list[bytes], clients: int, ctype: str
) -> float:
    import httpx

    def worker(chunk: list[bytes]) -> None:
        with httpx.Client(
            base_url=url,
            timeout=120,
            headers={"Authorization": f"Bearer {token}", "Content-Type": ctype},
        ) as client:
            for body in chunk:
                response = client.post(path, content=body)
                if response.status_code not in (200, 204):
                    raise RuntimeError(f"{response.status_code} {response.text[:300]}")

    chunks = [bodies[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, chunks))
    return time.perf_counter() - started


def copy_baseline(url: str, rows: list[tuple[datetime, int, int, float]], per_batch: int) -> float:
    """Raw psycopg binary COPY of the same rows into an identical hypertable, committing per batch."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (LIKE telemetry_sample INCLUDING ALL)")
        conn.execute(
            "SELECT create_hypertable('bench_copy', 'time', chunk_time_interval => interval '6 hours')"
        )
        conn.commit()
        started = time.perf_counter()
        for i in range(0, len(rows), per_batch):
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY bench_copy (time, node_id, metric_id, value) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["timestamptz", "int4", "int4", "float8"])
                for row in rows[i : i + per_batch]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return elapsed


def ingest_bench(
    args: argparse.Namespace,
    url: str,
    token: str,
    node_ids: dict[str, int],
    metric_ids: dict[str, int],
) -> list[list[str]]:
    from django.db import connection

    rows_out = []
    nodes = list(node_ids)[: args.nodes]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    with Server(workers=args.workers) as server:
        for fmt in ("json", "line protocol"):
            for per_batch in args.batches:
                start += timedelta(hours=1)
                samples = make_samples(nodes, args.seconds, start)
                points = len(samples) * len(METRICS)
                bodies = (json_bodies if fmt == "json" else lp_bodies)(samples, per_batch)
                path = "/api/v1/telemetry" if fmt == "json" else "/api/v2/write"
                ctype = "application/json" if fmt == "json" else "text/plain"
                http_s = post_all(server.url, path, token, bodies, args.clients, ctype)
                rows = [
                    (ts, node_ids[n], metric_ids[m], v)
                    for n, ts, ms in samples
                    for m, v in ms.items()
                ]
                copy_s = copy_baseline(url, rows, per_batch)
                replay_s = post_all(
                    server.url, path, token, bodies[: max(1, len(bodies) // 4)], args.clients, ctype
                )
                http_rate, copy_rate = points / http_s, points / copy_s
                rows_out.append(
                    [
                        fmt,
                        f"{per_batch:,}",
                        f"{points:,}",
                        f"{http_rate:,.0f}",
                        f"{copy_rate:,.0f}",
                        f"{http_rate / copy_rate:.0%}",
                        f"{(points // 4) / replay_s:,.0f}",
                    ]
                )
                print(rows_out[-1], flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM telemetry_sample")
        stored = cur.fetchone()[0]
    print(f"stored rows after ingest runs: {stored:,}")
    return rows_out


def load_query_table(
    url: str, node_ids: dict[str, int], metric_ids: dict[str, int], hours: float, day_node: str
) -> datetime:
    """COPY nodes x 30 metrics x hours at 1 Hz (one node gets 24 h) and roll up."""
    import psycopg

    from telemetry import services

    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    mids = [metric_ids[m] for m in METRICS]
    total = 0
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for node, nid in node_ids.items():
            span = 24 * 3600 if node == day_node else int(hours * 3600)
            first = end - timedelta(seconds=span)
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY telemetry_sample (time, node_id, metric_id, value) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["timestamptz", "int4", "int4", "float8"])
                for s in range(span):
                    ts = first + timedelta(seconds=s)
                    for k, mid in enumerate(mids):
                        copy.write_row((ts, nid, mid, float((s + k) % 97)))
                total += span * len(mids)
            cur = conn.cursor()
            cur.execute(
                "INSERT INTO telemetry_rollup_dirty SELECT %s, generate_series(%s::timestamptz, "
                "%s::timestamptz - interval '1 minute', interval '1 minute') ON CONFLICT DO NOTHING",
                [nid, first, end],
            )
            conn.commit()
    print(
        f"loaded {total:,} rows in {time.perf_counter() - started:.0f} s; rolling up...", flush=True
    )
    started = time.perf_counter()
    done = services.telemetry_rollup(max_buckets=50_000, rounds=10_000)
    print(f"rollup {done} in {time.perf_counter() - started:.0f} s", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return end


def query_bench(
    url: str,
    node_ids: dict[str, int],
    metric_ids: dict[str, int],
    end: datetime,
    day_node: str,
    repeat: int,
) -> list[list[str]]:
    import psycopg
    from django.db import connection

    from ops.fleet.models import Spacecraft
    from telemetry import selectors
    from telemetry.models import Metric

    node = Spacecraft.objects.get(slug=day_node)
    temp = Metric.objects.get(name="gpu_temp_c")
    start = end - timedelta(hours=24)

    def measure(fn: Any) -> tuple[float, float]:
        fn()  # warm
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return percentiles(samples)

    def baseline_series() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT date_bin('1 minute', time, '1970-01-01'), min(value), max(value), avg(value), "
                "count(*) FROM telemetry_sample WHERE node_id = %s AND metric_id = %s AND time >= %s "
                "AND time < %s GROUP BY 1 ORDER BY 1",
                [node.pk, temp.pk, start, end],
            )
            return cur.fetchall()

    def baseline_latest_fleet() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT ON (node_id) node_id, time, value FROM telemetry_sample "
                "WHERE metric_id = %s ORDER BY node_id, time DESC",
                [temp.pk],
            )
            return cur.fetchall()

    results = []
    zen = measure(
        lambda: selectors.series_buckets(node=node, metric=temp, start=start, end=end, bucket_s=60)
    )
    base = measure(baseline_series)
    results.append(["one metric, one node, 24 h in 1 min buckets", zen, base])
    zen = measure(lambda: selectors.latest_for_metric(metric=temp))
    base = measure(baseline_latest_fleet) if len(node_ids) <= 400 else (float("nan"), float("nan"))
    results.append([f"latest of one metric, all {len(node_ids)} nodes", zen, base])
    zen = measure(lambda: selectors.latest_for_node(node=node))
    results.append(["latest of every metric, one node", zen, (float("nan"), float("nan"))])
    del psycopg
    return [
        [
            name,
            f"{z[0]:.1f}",
            f"{z[1]:.1f}",
            f"{b[0]:.1f}",
            f"{b[0] / z[0]:.0f}x" if b[0] == b[0] else "-",
        ]
        for name, z, b in results
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument(
        "--seconds", type=int, default=20, help="seconds of fleet data per ingest run"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--query-nodes", type=int, default=200)
    parser.add_argument("--query-hours", type=float, default=6.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--reuse-query-table",
        action="store_true",
        help="keep the loaded query table of the previous run (bench database kept)",
    )
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.seconds, args.query_nodes, args.query_hours, args.repeat = (
            50,
            10,
            20,
            0.5,
            5,
        )

    url = setup_django("zenith_bench", fresh=not args.reuse_query_table)
    from ops.fleet import services as fleet
    from ops.fleet.models import Spacecraft
    from telemetry import registry
    from telemetry.models import Metric

    crafts = [
        Spacecraft.objects.filter(slug=f"node-{i:04d}").first()
        or fleet.spacecraft_create(slug=f"node-{i:04d}", name=f"Node {i}")
        for i in range(max(args.nodes, args.query_nodes))
    ]
    node_ids = {c.slug: c.pk for c in crafts}
    metric_ids, _ = registry.metric_ids(METRICS, register=True)
    metric_ids = dict(Metric.objects.filter(name__in=METRICS).values_list("name", "id"))
    account = fleet.service_account_get_or_create(name="bench")
    token = fleet.token_create(
        account=account, name=f"bench-{time.time_ns()}", scopes=["ingest"]
    ).secret
    print(
        f"database {url}; {len(node_ids)} nodes x {len(METRICS)} metrics; "
        f"{args.clients} clients, {args.workers} server workers",
        flush=True,
    )

    rows = [] if args.skip_ingest else ingest_bench(args, url, token, node_ids, metric_ids)
    print(
        "\nIngest, end to end over HTTP into TimescaleDB (idempotent), vs raw COPY of the same rows"
    )
    print(
        table(
            rows,
            [
                "format",
                "points/request",
                "points",
                "HTTP points/s",
                "COPY points/s",
                "HTTP/COPY",
                "replay points/s",
            ],
        )
    )

    if not args.skip_queries and args.reuse_query_table:
        from django.db import connection

        from telemetry import services

        query_nodes = dict(list(node_ids.items())[: args.query_nodes])
        day_node = next(iter(query_nodes))
        with connection.cursor() as cur:
            cur.execute(
                "SELECT date_trunc('minute', max(time)) + interval '1 minute' FROM telemetry_sample"
            )
            end = cur.fetchone()[0]
        started = time.perf_counter()
        done = services.telemetry_rollup(max_buckets=50_000, rounds=10_000)
        print(f"rollup {done} in {time.perf_counter() - started:.0f} s", flush=True)
        qrows = query_bench(url, query_nodes, metric_ids, end, day_node, args.repeat)
        print(
            f"\nQueries on {len(query_nodes)} nodes x {len(METRICS)} metrics x {args.query_hours} h"
            " at 1 Hz (one node 24 h); ms"
        )
        print(table(qrows, ["query", "p50", "p99", "naive SQL p50", "speed-up"]))
    elif not args.skip_queries:
        with __import__("django.db").db.connection.cursor() as cur:
            cur.execute(
                "TRUNCATE telemetry_sample, telemetry_rollup_1m, telemetry_rollup_1h, telemetry_rollup_dirty"
            )
        query_nodes = dict(list(node_ids.items())[: args.query_nodes])
        day_node = next(iter(query_nodes))
        end = load_query_table(url, query_nodes, metric_ids, args.query_hours, day_node)
        qrows = query_bench(url, query_nodes, metric_ids, end, day_node, args.repeat)
        print(
            f"\nQueries on {len(query_nodes)} nodes x {len(METRICS)} metrics x {args.query_hours} h at 1 Hz"
            f" (one node 24 h); ms"
        )
        print(table(qrows, ["query", "p50", "p99", "naive SQL p50", "speed-up"]))
    del Spacecraft


if __name__ == "__main__":
    main()
