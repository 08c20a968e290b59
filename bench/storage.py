"""Storage benchmark (make bench): bytes per point raw, compressed and in the rollups, per
value pattern and over the mix; time to compress a chunk; queries on compressed days
against the same queries on the same rows uncompressed (same run); replays into
compressed chunks against replays into uncompressed ones.

    .venv/bin/python bench/storage.py               # 10 nodes x 24 h (~26 M points)
    .venv/bin/python bench/storage.py --quick       # 2 nodes x 24 h
    .venv/bin/python bench/storage.py --nodes 20 --jitter-ms 20

The fleet is 200 nodes x 30 metrics at 1 Hz (bench/fleetdata.py: drifts, counters, flags,
noisy channels, steps). A full day is 518 M points (about 50 GB uncompressed), too much
for a shared 2-core machine, so ``--nodes`` nodes get the whole day and the other nodes
the day's last 10 minutes (enough for the fleet-wide latest query to visit 200 nodes),
and the 34 days before hold one row per chunk, so that queries see the 140 chunks of a
35-day retention window (bench/fleetdata.py ``pad_chunks``).
Compression works per series (segment by node and metric) and chunk, so bytes per point
do not depend on how many nodes share a chunk: the figures come from the three chunks
00-18 h, which hold whole 6 h chunks of the fully loaded nodes only; the fleet's day is
that figure times 518 M.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import percentiles, setup_django, table
from fleetdata import (
    COPY_SQL,
    HEADER,
    METRICS,
    PATTERNS,
    TRAILER,
    chunks_of,
    copy_rows,
    node_series,
    pad_chunks,
)

FLEET_NODES = 200
FLEET_DAY_POINTS = FLEET_NODES * len(METRICS) * 86_400
TARGETS_MS = {"24 h at 1 min, one series (rollups)": 50.0, "fleet latest, one metric": 20.0}


def load(
    url: str,
    node_ids: list[int],
    metric_ids: dict[str, int],
    start: datetime,
    seconds: int,
    *,
    jitter_ms: int,
) -> int:
    import psycopg

    start_s = int(start.timestamp())
    rows = 0
    with psycopg.connect(url) as conn:
        for index, node_id in enumerate(node_ids):
            series = node_series(index, start_s, seconds)
            data = copy_rows(node_id, metric_ids, series, start_s, jitter_ms=jitter_ms, seed=index)
            with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
                copy.write(HEADER)
                for part in chunks_of(data):
                    copy.write(part)
                copy.write(TRAILER)
            conn.commit()
            rows += seconds * len(METRICS)
    return rows


def mark_dirty(url: str, start: datetime, end: datetime) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO telemetry_rollup_dirty (node_id, bucket) "
            "SELECT DISTINCT node_id, date_trunc('minute', time) FROM telemetry_sample "
            "WHERE time >= %s AND time < %s ON CONFLICT DO NOTHING",
            [start, end],
        )


def chunk_sizes(url: str, start: datetime, end: datetime) -> list[tuple[str, int, int, int]]:
    """(chunk, heap+toast bytes, index bytes, rows) of the raw chunks in [start, end)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.chunk_schema || '.' || c.chunk_name, d.table_bytes + d.toast_bytes, "
            "d.index_bytes FROM timescaledb_information.chunks c "
            "JOIN chunks_detailed_size('telemetry_sample') d ON d.chunk_name = c.chunk_name "
            "WHERE c.hypertable_name = 'telemetry_sample' AND c.range_start >= %s "
            "AND c.range_end <= %s ORDER BY c.range_start",
            [start, end],
        ).fetchall()
        out = []
        for name, heap, index in rows:
            count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            out.append((name, int(heap), int(index), int(count)))
    return out


def compressed_by_pattern(
    url: str, chunk_names: list[str], metric_pattern: dict[int, str]
) -> dict[str, tuple[int, int]]:
    """Per pattern: (bytes of the compressed rows' data, points), from the compressed chunks'
    rows (segment columns, time and value arrays as stored, TOAST included)."""
    import psycopg

    totals = {p: [0, 0] for p in PATTERNS}
    with psycopg.connect(url, autocommit=True) as conn:
        for name in chunk_names:
            schema, table_name = name.split(".")
            compressed = conn.execute(
                "SELECT cc.schema_name || '.' || cc.table_name FROM _timescaledb_catalog.chunk c "
                "JOIN _timescaledb_catalog.chunk cc ON cc.id = c.compressed_chunk_id "
                "WHERE c.schema_name = %s AND c.table_name = %s",
                [schema, table_name],
            ).fetchone()[0]
            for metric_id, size, points in conn.execute(
                f"SELECT metric_id, sum(pg_column_size(x.*)), sum(_ts_meta_count) FROM {compressed} x GROUP BY metric_id"
            ).fetchall():
                totals[metric_pattern[metric_id]][0] += int(size)
                totals[metric_pattern[metric_id]][1] += int(points)
    return {p: (v[0], v[1]) for p, v in totals.items()}


def measure(fn: Any, repeat: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def queries(
    node: Any, metrics: dict[str, Any], day: datetime, repeat: int
) -> dict[str, tuple[float, float]]:
    from django.db import connection

    from telemetry import selectors

    temp, ecc = metrics["gpu0_temp_c"], metrics["ecc_errors_total"]
    end = day + timedelta(hours=24)

    def raw_minutes() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT date_bin('1 minute', time, '1970-01-01'), min(value), max(value), avg(value), "
                "count(*) FROM telemetry_sample WHERE node_id = %s AND metric_id = %s AND time >= %s "
                "AND time < %s GROUP BY 1 ORDER BY 1",
                [node.pk, temp.pk, day, end],
            )
            return cur.fetchall()

    return {
        "24 h at 1 min, one series (rollups)": measure(
            lambda: selectors.series_buckets(
                node=node, metric=temp, start=day, end=end, bucket_s=60
            ),
            repeat,
        ),
        "24 h at 1 min, one counter (rollups)": measure(
            lambda: selectors.series_buckets(
                node=node, metric=ecc, start=day, end=end, bucket_s=60
            ),
            repeat,
        ),
        "24 h at 1 min from raw rows (date_bin)": measure(raw_minutes, repeat),
        "1 h of raw points, one series": measure(
            lambda: selectors.series_raw(
                node=node,
                metric=temp,
                start=day + timedelta(hours=5),
                end=day + timedelta(hours=6),
                limit=10_000,
            ),
            repeat,
        ),
        "fleet latest, one metric": measure(
            lambda: selectors.latest_for_metric(metric=temp), repeat
        ),
        "latest of every metric, one node": measure(
            lambda: selectors.latest_for_node(node=node), repeat
        ),
    }


def replays(node_id: int, metric_ids: dict[str, int], day: datetime, hour: int) -> dict[str, float]:
    """Seconds to replay one node's hour (every row already stored) and to add 10 minutes of
    late rows between the stored seconds, through the store's write path."""
    from django.db import transaction

    from telemetry.stores import Batch, get_store

    start_s = int((day + timedelta(hours=hour)).timestamp())
    series = node_series(
        0, int(day.timestamp()), 86_400
    )  # the values stored: same keys, same values
    offset = hour * 3600

    def batch(seconds: int, shift_us: int) -> Batch:
        out = Batch()
        for name, values in series.items():
            for s in range(seconds):
                ts = datetime.fromtimestamp(start_s + s, tz=UTC) + timedelta(microseconds=shift_us)
                out.times.append(ts)
                out.node_ids.append(node_id)
                out.metric_ids.append(metric_ids[name])
                out.values.append(float(values[offset + s]))
                out.touched.add((node_id, ts.replace(second=0, microsecond=0)))
        return out

    store = get_store()
    replay, late = batch(3600, 0), batch(600, 500_000)
    out = {}
    with transaction.atomic():
        started = time.perf_counter()
        result = store.write(replay)
        out["replay"] = time.perf_counter() - started
        assert result.written == 0, result
        started = time.perf_counter()
        result = store.write(late)
        out["late"] = time.perf_counter() - started
        assert result.written == len(late), result
        transaction.set_rollback(True)  # leave the stored rows as they were
    out["replay_points"], out["late_points"] = len(replay), len(late)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10, help="nodes loaded for the whole day")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--jitter-ms", type=int, default=0, help="per-sample clock jitter")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-replays", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.repeat = 2, 10

    url = setup_django("zenith_bench_storage")
    import psycopg
    from django.db import connection

    from ops.fleet import services as fleet
    from telemetry import services
    from telemetry.models import Metric

    crafts = [
        fleet.spacecraft_create(slug=f"node-{i:04d}", name=f"Node {i}") for i in range(FLEET_NODES)
    ]
    metrics = {
        m.name: Metric.objects.update_or_create(name=m.name, defaults={"kind": m.kind})[0]
        for m in METRICS
    }
    metric_ids = {name: m.pk for name, m in metrics.items()}
    metric_pattern = {metrics[m.name].pk: m.pattern for m in METRICS}
    with psycopg.connect(url, autocommit=True) as conn:
        # The bench compresses when it measures, not when the policy's schedule says.
        conn.execute(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_compression'"
        )
    day = (datetime.now(UTC) - timedelta(days=9)).replace(hour=0, minute=0, second=0, microsecond=0)
    full = [c.pk for c in crafts[: args.nodes]]
    print(
        f"database {url}; {args.nodes} nodes x {len(METRICS)} metrics x 24 h at 1 Hz from {day:%Y-%m-%d}, "
        f"the other {FLEET_NODES - args.nodes} nodes the last 10 min; timestamps "
        + (
            f"whole seconds + up to {args.jitter_ms} ms jitter"
            if args.jitter_ms
            else "whole seconds"
        ),
        flush=True,
    )
    pad_chunks(url, day, 34)  # with the day: a 35-day retention window of chunks
    started = time.perf_counter()
    points = load(url, full, metric_ids, day, 86_400, jitter_ms=args.jitter_ms)
    loaded_s = time.perf_counter() - started
    last10 = day + timedelta(hours=24) - timedelta(minutes=10)
    extra = load(
        url, [c.pk for c in crafts[args.nodes :]], metric_ids, last10, 600, jitter_ms=args.jitter_ms
    )
    print(
        f"loaded {points:,} + {extra:,} points in {loaded_s:.0f} s ({points / loaded_s:,.0f} points/s)",
        flush=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE telemetry_sample")

    measured_end = day + timedelta(hours=18)
    raw_chunks = chunk_sizes(url, day, measured_end)
    raw_points = sum(r[3] for r in raw_chunks)
    raw_heap = sum(r[1] for r in raw_chunks) / raw_points
    raw_index = sum(r[2] for r in raw_chunks) / raw_points

    mark_dirty(url, day, day + timedelta(hours=24))
    started = time.perf_counter()
    done = services.telemetry_rollup(max_buckets=50_000, rounds=100_000)
    rollup_s = time.perf_counter() - started
    node_minutes = args.nodes * 1440 + (FLEET_NODES - args.nodes) * 10
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE telemetry_rollup_1m, telemetry_rollup_1h")
        rollup_bytes = {}
        for name in ("telemetry_rollup_1m", "telemetry_rollup_1h"):
            cur.execute(f"SELECT pg_total_relation_size('{name}'), (SELECT count(*) FROM {name})")
            size, rows = cur.fetchone()
            rollup_bytes[name] = size / rows
    print(
        f"rollup of {node_minutes:,} node-minutes in {rollup_s:.0f} s "
        f"({rollup_s / node_minutes * FLEET_NODES * 1000:.0f} ms per minute of the 200-node fleet); {done}",
        flush=True,
    )

    node = crafts[0]
    before = queries(node, metrics, day, args.repeat)
    before_replay = {} if args.skip_replays else replays(node.pk, metric_ids, day, 1)

    compress_rows = []
    with psycopg.connect(url, autocommit=True) as conn:
        for name, _heap, _index, count in chunk_sizes(url, day, day + timedelta(hours=24)):
            started = time.perf_counter()
            conn.execute("SELECT compress_chunk(%s)", [name])
            elapsed = time.perf_counter() - started
            compress_rows.append(
                [name.split(".")[1], f"{count:,}", f"{elapsed:.1f}", f"{count / elapsed:,.0f}"]
            )
        conn.execute("VACUUM ANALYZE telemetry_sample")
        stats = conn.execute(
            "SELECT chunk_schema || '.' || chunk_name, before_compression_total_bytes, "
            "after_compression_total_bytes FROM chunk_compression_stats('telemetry_sample') "
            "ORDER BY chunk_name"
        ).fetchall()
    measured = {r[0] for r in raw_chunks}
    kept = [s for s in stats if s[0] in measured]
    compressed_total = sum(s[2] for s in kept) / raw_points
    by_pattern = compressed_by_pattern(url, [s[0] for s in kept], metric_pattern)
    data_total = sum(v[0] for v in by_pattern.values())

    after = queries(node, metrics, day, args.repeat)
    after_replay = {} if args.skip_replays else replays(node.pk, metric_ids, day, 1)

    print(f"\nBytes per point ({raw_points:,} points in the 00-18 h chunks of {args.nodes} nodes)")
    size_rows = [
        ["raw row (heap)", f"{raw_heap:.1f}", ""],
        ["raw primary-key index", f"{raw_index:.1f}", ""],
    ]
    size_rows.append(
        [
            "raw total",
            f"{raw_heap + raw_index:.1f}",
            f"{(raw_heap + raw_index) * FLEET_DAY_POINTS / 1e9:,.1f} GB",
        ]
    )
    for pattern in PATTERNS:
        size, count = by_pattern[pattern]
        # The pattern's own rows plus its share of pages, TOAST chunking and index.
        share = size / data_total * compressed_total * raw_points / count
        channels = sum(1 for m in METRICS if m.pattern == pattern)
        size_rows.append([f"compressed: {pattern} ({channels} of 30)", f"{share:.2f}", ""])
    size_rows.append(
        [
            "compressed: the mix",
            f"{compressed_total:.2f}",
            f"{compressed_total * FLEET_DAY_POINTS / 1e9:,.2f} GB",
        ]
    )
    size_rows.append(
        [
            "rollup 1 min (per raw point)",
            f"{rollup_bytes['telemetry_rollup_1m'] / 60:.2f}",
            f"{rollup_bytes['telemetry_rollup_1m']:.0f} B a row",
        ]
    )
    size_rows.append(
        [
            "rollup 1 h (per raw point)",
            f"{rollup_bytes['telemetry_rollup_1h'] / 3600:.3f}",
            f"{rollup_bytes['telemetry_rollup_1h']:.0f} B a row",
        ]
    )
    print(table(size_rows, ["what", "bytes/point", "200-node fleet day"]))
    print(
        f"\ncompression ratio over the mix: {(raw_heap + raw_index) / compressed_total:.0f}x; target <= 2 bytes/point: "
        + ("met" if compressed_total <= 2 else "MISSED")
    )

    print("\nCompressing each chunk (6 h)")
    print(table(compress_rows, ["chunk", "points", "seconds", "points/s"]))
    rate = sum(int(r[1].replace(",", "")) for r in compress_rows) / sum(
        float(r[2]) for r in compress_rows
    )
    print(
        f"a 200-node fleet chunk (6 h, {FLEET_DAY_POINTS // 4:,} points) at that rate: {FLEET_DAY_POINTS / 4 / rate:.0f} s"
    )

    print(f"\nQueries, ms (p50 / p99 of {args.repeat}); same rows uncompressed in the same run")
    qrows = []
    for name in before:
        target = TARGETS_MS.get(name)
        qrows.append(
            [
                name,
                f"{before[name][0]:.1f}",
                f"{after[name][0]:.1f}",
                f"{after[name][1]:.1f}",
                f"< {target:.0f}" if target else "",
                ("ok" if after[name][0] < target else "MISSED") if target else "",
            ]
        )
    print(
        table(
            qrows, ["query", "uncompressed p50", "compressed p50", "compressed p99", "target", ""]
        )
    )
    if before_replay:
        print("\nWrites into the day, through the store (one node, 30 metrics)")
        wrows = []
        for key, label in (
            ("replay", "replay of 1 h (all stored already)"),
            ("late", "10 min of late rows between stored seconds"),
        ):
            n = before_replay[f"{key}_points"]
            wrows.append(
                [label, f"{n:,}", f"{n / before_replay[key]:,.0f}", f"{n / after_replay[key]:,.0f}"]
            )
        print(table(wrows, ["write", "points", "uncompressed points/s", "compressed points/s"]))


if __name__ == "__main__":
    main()
