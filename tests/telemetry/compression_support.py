"""Helpers for the compressed-chunk tests: compress chunks on demand, deterministic series
and a snapshot of every read the API offers, so "compressed reads what uncompressed read"
is one equality."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from telemetry import selectors
from telemetry.models import Metric
from telemetry.stores import Batch, get_store

CHUNK = timedelta(hours=6)  # TELEMETRY_CHUNK_HOURS in the test settings
# Within the ingest window (TELEMETRY_MAX_AGE_DAYS), older than the compression policy's
# age, and on a chunk boundary (chunks are aligned to multiples of 6 h since the epoch).
BASE = (
    (timezone.now() - timedelta(days=10))
    .astimezone(UTC)
    .replace(hour=0, minute=0, second=0, microsecond=0)
)


def loaded_license() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('timescaledb.license', true)")
        return str(cursor.fetchone()[0])


def expected_license() -> str:
    """The license the suite is meant to run on: the Timescale-licensed build (what the
    compose image runs), unless the Apache run (test_compression_license) says otherwise."""
    return os.environ.get("ZENITH_EXPECT_TSDB_LICENSE", "timescale")


def require_timescale_license() -> None:
    name = loaded_license()
    assert name == "timescale", (
        f"these tests need TimescaleDB with the Timescale License parts (loaded: {name!r}); "
        "scripts/ensure-timescaledb.sh builds them from ../shared/vendor"
    )


def chunks() -> list[tuple[datetime, bool]]:
    """(start, compressed) of every raw chunk, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT range_start, is_compressed FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'telemetry_sample' ORDER BY range_start"
        )
        return [(start, bool(done)) for start, done in cursor.fetchall()]


def compress(*, before: datetime | None = None) -> int:
    """Compress every uncompressed raw chunk ending at or before ``before`` (all when None);
    returns how many were compressed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(compress_chunk(format('%%I.%%I', chunk_schema, chunk_name))) "
            "FROM timescaledb_information.chunks WHERE hypertable_name = 'telemetry_sample' "
            "AND NOT is_compressed AND range_end <= %s",
            [before or datetime(9999, 1, 1, tzinfo=UTC)],
        )
        return int(cursor.fetchone()[0])


def decompress_all() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(decompress_chunk(c, if_compressed => true)) "
            "FROM show_chunks('telemetry_sample') c"
        )


def sample_rows() -> list[tuple[datetime, int, int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT time, node_id, metric_id, value FROM telemetry_sample "
            "ORDER BY node_id, metric_id, time"
        )
        return list(cursor.fetchall())


def rollup_rows() -> dict[str, list[tuple[Any, ...]]]:
    columns = "bucket, node_id, metric_id, min, max, sum, count, last, last_time, increase"
    out = {}
    with connection.cursor() as cursor:
        for table in ("telemetry_rollup_1m", "telemetry_rollup_1h"):
            query = f"SELECT {columns} FROM {table} ORDER BY node_id, metric_id, bucket"  # noqa: S608 (constants)
            cursor.execute(query)
            out[table] = list(cursor.fetchall())
    return out


def mark_all_dirty() -> None:
    """Make the rollup job redo every minute that has samples (as after a rebuild)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO telemetry_rollup_dirty (node_id, bucket) "
            "SELECT DISTINCT node_id, date_trunc('minute', time) FROM telemetry_sample "
            "ON CONFLICT DO NOTHING"
        )


def write(rows: list[tuple[datetime, int, int, float]]) -> Any:
    batch = Batch()
    for ts, node_id, metric_id, value in rows:
        batch.times.append(ts)
        batch.node_ids.append(node_id)
        batch.metric_ids.append(metric_id)
        batch.values.append(value)
        batch.touched.add((node_id, ts.replace(second=0, microsecond=0)))
    return get_store().write(batch)


def gauge(i: int) -> float:
    # Dyadic values (multiples of 1/4): sums are exact in any order, so averages compare
    # exactly whichever order the rows are read in (compressed batches read newest first).
    return 20.0 + (i * 7 % 37) * 0.25


@dataclass(frozen=True)
class Counter:
    """A counter stepping up now and then and restarting from 0 at ``resets``."""

    resets: frozenset[int]

    def series(self, n: int) -> list[float]:
        value, out = 0.0, []
        for i in range(n):
            if i in self.resets:
                value = 0.0
            elif i % 7 == 3:
                value += float(i % 5 + 1)
            out.append(value)
        return out


def reference_increases(
    points: list[tuple[datetime, float]], start: datetime, bucket: timedelta
) -> dict[datetime, float]:
    """Counter increase per bucket the README defines: positive steps, a step down is a
    reset (the new value counts), the first sample compared with the one before it."""
    out: dict[datetime, float] = {}
    prev: float | None = None
    for ts, value in points:
        key = start + bucket * ((ts - start) // bucket)
        step = 0.0 if prev is None else (value - prev if value >= prev else value)
        out[key] = out.get(key, 0.0) + step
        prev = value
    return out


def snapshot(nodes: list[Any], metrics: list[Metric], start: datetime, end: datetime) -> Any:
    """Every read the API offers over the range: raw (whole and cut by a limit), buckets of
    several widths (raw rows, minute and hour paths, gaps included), latest per node,
    fleet latest and the CSV export rows."""
    out: dict[str, Any] = {}
    for node in nodes:
        for metric in metrics:
            key = f"{node.slug}/{metric.name}"
            out[f"raw {key}"] = selectors.series_raw(
                node=node, metric=metric, start=start, end=end, limit=100_000
            )
            out[f"raw-limit {key}"] = selectors.series_raw(
                node=node,
                metric=metric,
                start=start + CHUNK - timedelta(minutes=5),
                end=end,
                limit=50,
            )
            for bucket_s in (30, 60, 300, 3600, 7200):
                span_start = start if bucket_s >= 60 else start + CHUNK - timedelta(minutes=30)
                span_end = end if bucket_s >= 60 else start + CHUNK + timedelta(minutes=30)
                out[f"buckets {bucket_s} {key}"] = selectors.series_buckets(
                    node=node, metric=metric, start=span_start, end=span_end, bucket_s=bucket_s
                ).buckets
        out[f"latest {node.slug}"] = [(m.name, v) for m, v in selectors.latest_for_node(node=node)]
        out[f"export {node.slug}"] = list(
            selectors.export_rows(node=node, metrics=metrics, start=start, end=end, chunk=997)
        )
    for metric in metrics:
        out[f"fleet {metric.name}"] = [
            (n.slug, v) for n, v in selectors.latest_for_metric(metric=metric)
        ]
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys whose values differ (an assertion message that names the read, not a diff of
    thousands of buckets)."""
    assert a.keys() == b.keys()
    return [key for key in a if a[key] != b[key]]
