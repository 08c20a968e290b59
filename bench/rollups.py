"""Rollups benchmark (make bench): Zenith's hand-written rollup tables and job against
TimescaleDB continuous aggregates doing the same work, in the same run.

    .venv/bin/python bench/rollups.py            # 10 min of the 200-node fleet, 30 d of 2 nodes
    .venv/bin/python bench/rollups.py --quick    # 3 min, 7 d

The continuous aggregates are made as exact as the hand-written rollups: a 1-minute
aggregate on the raw hypertable (min, max, sum, count, first and last with their times,
and the counter increase inside the minute from ``array_agg(value ORDER BY time)``), and
a 1-hour aggregate on top of it (the increases inside the hour need the steps between
its minutes, again from ordered arrays). The step from the previous bucket's last sample
(within an hour) is added at query time with ``lag``: window functions are not allowed in
a continuous aggregate. Measured:

- maintenance per minute of fleet data (200 nodes x 30 metrics x 1 Hz): the rollup job
  over the minutes ingest marked, against refreshing both aggregates over the same range;
- late samples (one row each for 20 nodes, spread over the range): the rollup job redoes
  those node-minutes; a refresh redoes the invalidated range for every node; and whether
  queries show the late rows before the maintenance runs;
- exactness: every minute and hour of every counter and gauge, both ways, compared;
- queries: 24 h at 1 min and 30 d at 1 h for one series (30 days of 2 nodes at one sample
  a minute: a minute bucket then holds one sample, and query time depends on buckets).

The hypertable holds a 35-day retention window of chunks throughout (140, one row each
where no data is loaded): per-chunk costs show as they would in service.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import percentiles, setup_django, table
from fleetdata import COPY_SQL, HEADER, METRICS, TRAILER, copy_rows, node_series, pad_chunks

FLEET_NODES = 200

CAGG_SQL = [
    """CREATE OR REPLACE FUNCTION bench_counter_steps(v float8[]) RETURNS float8
       LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
       DECLARE total float8 := 0;
       BEGIN
         FOR i IN 2 .. coalesce(array_length(v, 1), 0) LOOP
           total := total + CASE WHEN v[i] >= v[i - 1] THEN v[i] - v[i - 1] ELSE v[i] END;
         END LOOP;
         RETURN total;
       END $$""",
    # Steps between consecutive minutes of an hour (the previous minute's last sample to
    # this minute's first), counted when the previous sample is within an hour before
    # this minute, as the hand-written rollups do.
    """CREATE OR REPLACE FUNCTION bench_minute_steps(
           firsts float8[], lasts float8[], minutes timestamptz[], last_times timestamptz[])
       RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
       DECLARE total float8 := 0;
       BEGIN
         FOR i IN 2 .. coalesce(array_length(firsts, 1), 0) LOOP
           IF last_times[i - 1] >= minutes[i] - interval '1 hour' THEN
             total := total + CASE WHEN firsts[i] >= lasts[i - 1]
                                   THEN firsts[i] - lasts[i - 1] ELSE firsts[i] END;
           END IF;
         END LOOP;
         RETURN total;
       END $$""",
    """CREATE MATERIALIZED VIEW bench_cagg_1m
       WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
       SELECT time_bucket('1 minute', time) AS bucket, node_id, metric_id,
              min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count,
              first(value, time) AS first, last(value, time) AS last, max(time) AS last_time,
              bench_counter_steps(array_agg(value ORDER BY time)) AS inner_increase
       FROM telemetry_sample GROUP BY 1, 2, 3 WITH NO DATA""",
    """CREATE MATERIALIZED VIEW bench_cagg_1h
       WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
       SELECT time_bucket('1 hour', bucket) AS bucket, node_id, metric_id,
              min(min) AS min, max(max) AS max, sum(sum) AS sum, sum(count) AS count,
              first(first, bucket) AS first, min(bucket) AS first_minute,
              last(last, bucket) AS last, max(last_time) AS last_time,
              sum(inner_increase) + bench_minute_steps(
                  array_agg(first ORDER BY bucket), array_agg(last ORDER BY bucket),
                  array_agg(bucket ORDER BY bucket), array_agg(last_time ORDER BY bucket)
              ) AS inner_increase
       FROM bench_cagg_1m GROUP BY 1, 2, 3 WITH NO DATA""",
]

# A bucketed series from an aggregate: the step from the previous bucket's last sample
# (if within an hour before the bucket's first minute) completes the counter increase.
CAGG_QUERY = """
    SELECT bucket, count, min, max, sum / count, last,
           inner_increase + CASE
               WHEN prev_last IS NULL OR prev_time < {first_minute} - interval '1 hour' THEN 0
               WHEN first >= prev_last THEN first - prev_last ELSE first END
    FROM (SELECT c.*, lag(last) OVER w AS prev_last, lag(last_time) OVER w AS prev_time
          FROM {view} c WHERE node_id = %(n)s AND metric_id = %(m)s
            AND bucket >= %(s)s - interval '{lookback}' AND bucket < %(e)s
          WINDOW w AS (ORDER BY bucket)) x
    WHERE bucket >= %(s)s ORDER BY bucket"""
MINUTES = CAGG_QUERY.format(view="bench_cagg_1m", first_minute="bucket", lookback="1 hour")
HOURS = CAGG_QUERY.format(view="bench_cagg_1h", first_minute="first_minute", lookback="2 hours")


def load(
    url: str,
    node_ids: list[int],
    metric_ids: dict[str, int],
    start: datetime,
    seconds: int,
    every: int = 1,
) -> int:
    """COPY ``seconds`` of each node from ``start``, keeping one sample in ``every``."""
    import numpy as np
    import psycopg

    rows = 0
    with psycopg.connect(url) as conn:
        for index, node_id in enumerate(node_ids):
            day_s = int(start.timestamp())
            for offset in range(0, seconds, 86_400):
                span = min(86_400, seconds - offset)
                series = node_series(index, day_s + offset, span)
                kept = {k: v[::every] for k, v in series.items()}
                data = copy_rows(node_id, metric_ids, kept, day_s + offset, step=every)
                with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
                    copy.write(HEADER)
                    copy.write(data)
                    copy.write(TRAILER)
                rows += len(next(iter(kept.values()))) * len(kept)
            conn.commit()
    del np
    return rows


def refresh(url: str, start: datetime, end: datetime) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("CALL refresh_continuous_aggregate('bench_cagg_1m', %s, %s)", [start, end])
        hour_start = start.replace(minute=0, second=0, microsecond=0)
        hour_end = (
            end
            if end == end.replace(minute=0, second=0, microsecond=0)
            else end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        )
        conn.execute(
            "CALL refresh_continuous_aggregate('bench_cagg_1h', %s, %s)", [hour_start, hour_end]
        )
        return time.perf_counter() - started


def rollup() -> float:
    from telemetry import services

    started = time.perf_counter()
    services.telemetry_rollup(max_buckets=50_000, rounds=100_000)
    return time.perf_counter() - started


def mark_dirty(url: str, start: datetime, end: datetime) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO telemetry_rollup_dirty (node_id, bucket) SELECT DISTINCT node_id, "
            "date_trunc('minute', time) FROM telemetry_sample WHERE time >= %s AND time < %s "
            "ON CONFLICT DO NOTHING",
            [start, end],
        )


def cagg_series(
    node_id: int, metric_id: int, start: datetime, end: datetime, bucket_s: int
) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            MINUTES if bucket_s == 60 else HOURS,
            {"n": node_id, "m": metric_id, "s": start, "e": end},
        )
        return [
            (b, int(c), mn, mx, avg, last, inc / bucket_s)
            for b, c, mn, mx, avg, last, inc in cur.fetchall()
        ]


def store_series(
    node_id: int, metric_id: int, counter: bool, start: datetime, end: datetime, bucket_s: int
) -> list[tuple[Any, ...]]:
    from telemetry.stores import get_store

    buckets = get_store().buckets(
        node_id=node_id,
        metric_id=metric_id,
        start=start,
        end=end,
        bucket_s=bucket_s,
        counter=counter,
    )
    return [(b.start, b.count, b.min, b.max, b.avg, b.last, b.rate_per_s) for b in buckets]


def compare(
    node_ids: list[int], metrics: dict[str, Any], start: datetime, end: datetime
) -> tuple[int, int]:
    """(series-buckets compared, mismatches): counts, min, max, last and counter rates
    exactly; averages to 1e-12 relative (sums in another order)."""
    compared = mismatched = 0
    for node_id in node_ids:
        for spec in METRICS:
            metric = metrics[spec.name]
            counter = spec.kind == "counter"
            for bucket_s in (60, 3600):
                # Whole buckets: the hours around a range that starts at ten past.
                s = start.replace(minute=0) if bucket_s == 3600 else start
                e = (
                    end
                    if bucket_s == 60 or end.minute == 0
                    else end.replace(minute=0) + timedelta(hours=1)
                )
                ours = store_series(node_id, metric.pk, counter, s, e, bucket_s)
                theirs = cagg_series(node_id, metric.pk, s, e, bucket_s)
                compared += len(ours)
                if len(ours) != len(theirs):
                    mismatched += abs(len(ours) - len(theirs)) or 1
                    continue
                for a, b in zip(ours, theirs, strict=True):
                    same = (
                        a[:4] == b[:4]
                        and a[5] == b[5]
                        and abs(a[4] - b[4]) <= 1e-12 * max(1.0, abs(a[4]))
                    )
                    if counter:
                        same = same and a[6] == b[6]
                    mismatched += not same
    return compared, mismatched


def measure(fn: Any, repeat: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=10, help="minutes of the whole fleet")
    parser.add_argument("--days", type=int, default=30, help="days of the query nodes")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.days, args.repeat = 3, 7, 10

    url = setup_django("zenith_bench_rollups")
    import psycopg
    from django.db import connection

    from ops.fleet import services as fleet
    from telemetry.models import Metric
    from telemetry.stores import Batch, get_store

    crafts = [
        fleet.spacecraft_create(slug=f"node-{i:04d}", name=f"Node {i}") for i in range(FLEET_NODES)
    ]
    node_ids = [c.pk for c in crafts]
    metrics = {
        m.name: Metric.objects.update_or_create(name=m.name, defaults={"kind": m.kind})[0]
        for m in METRICS
    }
    metric_ids = {name: m.pk for name, m in metrics.items()}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
        )
        for statement in CAGG_SQL:
            conn.execute(statement)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    a_start = (now - timedelta(days=2)).replace(minute=10)
    a_end = a_start + timedelta(minutes=args.minutes)
    pad_chunks(url, a_start, 35)
    started = time.perf_counter()
    points = load(url, node_ids, metric_ids, a_start, args.minutes * 60)
    print(
        f"database {url}; loaded {points:,} points ({FLEET_NODES} nodes x 30 metrics x {args.minutes} min at 1 Hz) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE telemetry_sample")

    mark_dirty(url, a_start, a_end)
    hand_s = rollup()
    cagg_s = refresh(url, a_start, a_end)
    compared, mismatched = compare(node_ids[:20], metrics, a_start, a_end)

    # Late rows: one per node for 20 nodes, inside the range already aggregated; counters
    # get a reset (0), the others a new extreme.
    rng = random.Random(7)
    late = Batch()
    for node_id in rng.sample(node_ids, 20):
        spec = rng.choice(METRICS)
        ts = a_start + timedelta(seconds=rng.randrange(args.minutes * 60), microseconds=500_000)
        late.times.append(ts)
        late.node_ids.append(node_id)
        late.metric_ids.append(metric_ids[spec.name])
        late.values.append(0.0 if spec.kind == "counter" else 1e6)
        late.touched.add((node_id, ts.replace(second=0, microsecond=0)))
    get_store().write(late)
    probe = (late.node_ids[0], late.metric_ids[0], late.times[0].replace(second=0, microsecond=0))
    kind = {m.pk: m.kind for m in metrics.values()}

    def seen(source: str) -> int:
        n, m, minute = probe
        rows = (
            store_series(n, m, kind[m] == "counter", minute, minute + timedelta(minutes=1), 60)
            if source == "rollups"
            else cagg_series(n, m, minute, minute + timedelta(minutes=1), 60)
        )
        return rows[0][1] if rows else 0

    visible = {"rollups": seen("rollups"), "caggs": seen("caggs")}
    hand_late_s = rollup()
    cagg_late_s = refresh(url, a_start, a_end)
    after = {"rollups": seen("rollups"), "caggs": seen("caggs")}
    late_compared, late_mismatched = compare(sorted(set(late.node_ids)), metrics, a_start, a_end)

    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_total_relation_size('telemetry_rollup_1m') / greatest(1, (SELECT count(*) FROM telemetry_rollup_1m))"
        )
        rollup_row = cur.fetchone()[0]
        cur.execute(
            "SELECT sum(hypertable_size((quote_ident(materialization_hypertable_schema) || '.' || "
            "quote_ident(materialization_hypertable_name))::regclass)) "
            "FROM timescaledb_information.continuous_aggregates WHERE view_name = 'bench_cagg_1m'"
        )
        cagg_bytes = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM bench_cagg_1m")
        cagg_row = cagg_bytes / max(1, cur.fetchone()[0])

    # Queries: the query nodes' 30 days at one sample a minute, aggregated both ways.
    q_nodes = node_ids[:2]
    q_end = a_start.replace(hour=0, minute=0) - timedelta(days=1)
    q_start = q_end - timedelta(days=args.days)
    started = time.perf_counter()
    load(url, q_nodes, metric_ids, q_start, args.days * 86_400, every=60)
    q_hand = q_cagg = 0.0
    for d in range(args.days):  # a day at a time, as the data would have arrived
        day_start = q_start + timedelta(days=d)
        mark_dirty(url, day_start, day_start + timedelta(days=1))
        q_hand += rollup()
        q_cagg += refresh(url, day_start, day_start + timedelta(days=1))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(
        f"query data: {args.days} d of {len(q_nodes)} nodes loaded and aggregated in {time.perf_counter() - started:.0f} s (rollups {q_hand:.0f} s, aggregates {q_cagg:.0f} s)",
        flush=True,
    )
    q_compared, q_mismatched = compare(q_nodes[:1], metrics, q_end - timedelta(days=2), q_end)
    node, temp, ecc = q_nodes[0], metrics["gpu0_temp_c"].pk, metrics["ecc_errors_total"].pk
    day = (q_end - timedelta(hours=24), q_end)
    month = (q_end - timedelta(days=args.days), q_end)
    qrows = []
    for label, (s, e), bucket_s in (
        ("24 h at 1 min", day, 60),
        (f"{args.days} d at 1 h", month, 3600),
    ):
        for name, metric, counter in (("gauge", temp, False), ("counter", ecc, True)):
            ours = measure(
                lambda s=s, e=e, b=bucket_s, m=metric, c=counter: store_series(node, m, c, s, e, b),
                args.repeat,
            )
            theirs = measure(
                lambda s=s, e=e, b=bucket_s, m=metric: cagg_series(node, m, s, e, b), args.repeat
            )
            qrows.append(
                [
                    f"{label}, {name}",
                    f"{ours[0]:.1f}",
                    f"{ours[1]:.1f}",
                    f"{theirs[0]:.1f}",
                    f"{theirs[1]:.1f}",
                ]
            )

    per_min = FLEET_NODES / FLEET_NODES  # the loaded range is the whole fleet
    rows = [
        [
            "maintenance per minute of fleet data (s)",
            f"{hand_s / args.minutes * per_min:.2f}",
            f"{cagg_s / args.minutes * per_min:.2f}",
        ],
        ["20 late rows: maintenance (s)", f"{hand_late_s:.2f}", f"{cagg_late_s:.2f}"],
        [
            "late rows visible before maintenance",
            "yes" if visible["rollups"] == after["rollups"] else "no",
            "yes" if visible["caggs"] == after["caggs"] else "no",
        ],
        ["storage per 1-minute row (bytes)", f"{rollup_row}", f"{cagg_row:.0f}"],
        ["runs on PostgreSQL without TimescaleDB / Apache build", "yes", "no"],
    ]
    print(
        f"\nRollups: hand-written (rollup tables + job) vs continuous aggregates; {args.minutes} min of {FLEET_NODES} nodes x 30 metrics at 1 Hz"
    )
    print(table(rows, ["", "hand-written", "continuous aggregates"]))
    print(
        f"exact agreement: {compared:,} series-buckets after the first run, {late_compared:,} after the late rows, "
        f"{q_compared:,} in the query data; mismatches {mismatched}, {late_mismatched}, {q_mismatched}"
    )
    print(f"\nQueries, one series, ms (p50 / p99 of {args.repeat})")
    print(table(qrows, ["query", "rollups p50", "rollups p99", "aggregates p50", "aggregates p99"]))


if __name__ == "__main__":
    main()
