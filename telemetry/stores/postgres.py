"""PostgreSQL store, with TimescaleDB when the extension is there.

Writes use psycopg 3 binary ``COPY`` through Django's connection, so a write joins the
caller's transaction (ingest and limit checks commit or roll back together).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from django.db import connection, transaction

from telemetry.stores.base import Batch, Bucket, LatestValue, RawPoint, WriteResult
from telemetry.stores.postgres_sql import (
    COMPRESSED_IN_RANGE,
    DROP_STORED,
    INCREASE,
    PREV_BEFORE,
    PREV_BOUNDS,
    hour_parts,
    minute_parts,
)
from telemetry.stores.schema import DIRTY_TABLE, RAW_TABLE, ROLLUP_1H, ROLLUP_1M

_COPY_TYPES = ["timestamptz", "int4", "int4", "float8"]
_ORIGIN = "'1970-01-01 00:00:00+00'::timestamptz"

_ROLLUP_LOCK_KEY = 0x7A656E69_7468  # "zenith": serialises rollup runs across workers
_ROLLUP_COLUMNS = "bucket, node_id, metric_id, min, max, sum, count, last, last_time, increase"


class PostgresStore:
    def __init__(self, *, timescale: bool, synchronous_commit: bool = True) -> None:
        self.timescale = timescale
        self.synchronous_commit = synchronous_commit
        self.name = "timescaledb" if timescale else "postgresql"
        self._bin = "time_bucket" if timescale else "date_bin"

    # --- writes ---------------------------------------------------------------------

    def _copy(self, cursor: psycopg.Cursor[Any], table: str, batch: Batch) -> None:
        with cursor.copy(
            f"COPY {table} (time, node_id, metric_id, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_COPY_TYPES)
            write_row = copy.write_row
            for row in zip(
                batch.times, batch.node_ids, batch.metric_ids, batch.values, strict=True
            ):
                write_row(row)

    def write(self, batch: Batch) -> WriteResult:
        """Insert the batch; rows already stored are skipped (replays write nothing).

        Fast path: COPY straight into the table inside a savepoint. Only when that hits
        the unique key (a replay, or an overlap) does it redo the batch through a staging
        table with ``ON CONFLICT DO NOTHING``. Replays are rare, so most batches go at
        raw COPY speed.
        """
        if not batch.values:
            return WriteResult(0, 0)
        total = len(batch.values)
        fresh: Batch | None = None
        with connection.cursor() as wrapper:
            cursor: psycopg.Cursor[Any] = wrapper.cursor
            if not self.synchronous_commit:
                cursor.execute("SET LOCAL synchronous_commit = off")
            try:
                with transaction.atomic():
                    self._copy(cursor, RAW_TABLE, batch)
                written = total
            except psycopg.errors.UniqueViolation:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS telemetry_stage "
                    f"(LIKE {RAW_TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                cursor.execute("TRUNCATE telemetry_stage")
                self._copy(cursor, "telemetry_stage", batch)
                if self.timescale and self._touches_compressed(cursor, batch):
                    # Statistics first: without them the planner guesses thousands of
                    # series and hash-joins every chunk of the range, all series of it.
                    cursor.execute("ANALYZE telemetry_stage")
                    cursor.execute(DROP_STORED, [min(batch.times), max(batch.times)])
                cursor.execute(
                    f"INSERT INTO {RAW_TABLE} (time, node_id, metric_id, value) "
                    "SELECT time, node_id, metric_id, value FROM telemetry_stage "
                    "ON CONFLICT DO NOTHING RETURNING time, node_id, metric_id, value"
                )
                # Which rows were new: what observers (alert rules) may evaluate.
                fresh = Batch()
                for ts, node_id, metric_id, value in cursor.fetchall():
                    fresh.times.append(ts)
                    fresh.node_ids.append(node_id)
                    fresh.metric_ids.append(metric_id)
                    fresh.values.append(value)
                written = len(fresh.values)
            if written and batch.touched:
                # Sorted, so concurrent batches lock the same keys in the same order and
                # cannot deadlock on each other here.
                nodes, minutes = zip(*sorted(batch.touched), strict=True)
                cursor.execute(
                    f"INSERT INTO {DIRTY_TABLE} (node_id, bucket) "
                    "SELECT * FROM unnest(%s::int4[], %s::timestamptz[]) "
                    # An existing marker is updated, not skipped: the row lock keeps the
                    # rollup from claiming it until this batch has committed.
                    "ON CONFLICT (node_id, bucket) DO UPDATE SET bucket = EXCLUDED.bucket",
                    [list(nodes), list(minutes)],
                )
        return WriteResult(written, total - written, fresh)

    @staticmethod
    def _touches_compressed(cursor: psycopg.Cursor[Any], batch: Batch) -> bool:
        cursor.execute(COMPRESSED_IN_RANGE, [RAW_TABLE, max(batch.times), min(batch.times)])
        row = cursor.fetchone()
        return bool(row and row[0])

    # --- reads -----------------------------------------------------------------------

    def raw(
        self, *, node_id: int, metric_id: int, start: datetime, end: datetime, limit: int
    ) -> list[RawPoint]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT time, value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                "AND time >= %s AND time < %s ORDER BY time LIMIT %s",
                [node_id, metric_id, start, end, limit],
            )
            return [RawPoint(t, v) for t, v in cursor.fetchall()]

    def buckets(
        self,
        *,
        node_id: int,
        metric_id: int,
        start: datetime,
        end: datetime,
        bucket_s: int,
        counter: bool,
    ) -> list[Bucket]:
        params: dict[str, Any] = {"n": node_id, "m": metric_id, "s": start, "e": end, "b": bucket_s}
        bucket = f"{self._bin}(%(b)s * interval '1 second', p.bucket, {_ORIGIN})"
        parts = ""
        if bucket_s % 60 == 0:
            # The minutes of the node still marked dirty in the range (postgres_sql).
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT min(bucket), max(bucket) FROM {DIRTY_TABLE} "
                    "WHERE node_id = %s AND bucket >= %s AND bucket < %s",
                    [node_id, start, end],
                )
                params["dlo"], params["dhi"] = cursor.fetchone()
            dirty = params["dlo"] is not None
            if bucket_s % 3600 == 0:
                params["hours"] = int((end - start).total_seconds()) // 3600
                parts = hour_parts(counter=counter, dirty=dirty)
            else:
                parts = minute_parts(counter=counter, dirty=dirty)
        if parts:
            sql = f"""
                SELECT {bucket} AS b, min(p.min), max(p.max), sum(p.sum) / sum(p.count),
                       sum(p.count), (array_agg(p.last ORDER BY p.last_time DESC))[1],
                       sum(p.increase)
                FROM ({parts}) p GROUP BY 1 ORDER BY 1"""
        else:
            raw_bucket = f"{self._bin}(%(b)s * interval '1 second', s.time, {_ORIGIN})"
            increase = f"{INCREASE}" if counter else "NULL::float8"
            # Counters: start one sample early (within an hour) so the first bucket's first
            # step has its predecessor, as in the rollup paths.
            seed = (
                f"coalesce((SELECT max(p.time) FROM {RAW_TABLE} p WHERE p.node_id = %(n)s "
                "AND p.metric_id = %(m)s AND p.time < %(s)s "
                "AND p.time >= %(s)s - interval '1 hour'), %(s)s)"
                if counter
                else "%(s)s"
            )
            sql = f"""
                SELECT b, min(value), max(value), avg(value), count(*),
                       (array_agg(value ORDER BY time DESC))[1], {increase}
                FROM (
                    SELECT {raw_bucket} AS b, s.time, s.value,
                           lag(s.value) OVER (ORDER BY s.time) AS prev
                    FROM {RAW_TABLE} s
                    WHERE s.node_id = %(n)s AND s.metric_id = %(m)s
                      AND s.time >= {seed} AND s.time < %(e)s
                ) x WHERE x.time >= %(s)s GROUP BY b ORDER BY b"""
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [
            Bucket(
                start=b,
                count=int(count),
                min=mn,
                max=mx,
                avg=avg,
                last=last,
                rate_per_s=(inc / bucket_s) if counter and inc is not None else None,
            )
            for b, mn, mx, avg, count, last, inc in rows
        ]

    def latest_for_node(self, *, node_id: int) -> list[LatestValue]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT m.id, l.time, l.value FROM telemetry_metric m
                    CROSS JOIN LATERAL (
                        SELECT time, value FROM {RAW_TABLE} s
                        WHERE s.node_id = %s AND s.metric_id = m.id
                        ORDER BY time DESC LIMIT 1) l
                    ORDER BY m.id""",
                [node_id],
            )
            return [LatestValue(node_id, mid, t, v) for mid, t, v in cursor.fetchall()]

    def latest_for_metric(self, *, metric_id: int, node_ids: list[int]) -> list[LatestValue]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT n.id, l.time, l.value FROM unnest(%s::int4[]) AS n(id)
                    CROSS JOIN LATERAL (
                        SELECT time, value FROM {RAW_TABLE} s
                        WHERE s.node_id = n.id AND s.metric_id = %s
                        ORDER BY time DESC LIMIT 1) l
                    ORDER BY n.id""",
                [node_ids, metric_id],
            )
            return [LatestValue(nid, metric_id, t, v) for nid, t, v in cursor.fetchall()]

    # --- maintenance -----------------------------------------------------------------

    def rollup(self, *, max_buckets: int) -> dict[str, int]:
        """Re-aggregate up to ``max_buckets`` dirty (node, minute) pairs into 1 min and 1 h.

        Why nothing is missed: an ingest marks its minutes with an upsert that locks the
        marker until it commits; the claim below skips locked markers (``SKIP LOCKED``), so
        a minute whose samples are still uncommitted stays marked for the next run. A
        marker claimed here blocks a concurrent ingest's upsert until this commits; the
        ingest then inserts a fresh marker. Runs are serialised by an advisory lock: two
        runs each writing the same hour from their own snapshot would lose minutes.
        """
        empty = {"minutes": 0, "rollup_1m_rows": 0, "rollup_1h_rows": 0}
        prev = PREV_BEFORE.format(
            bucket="c.bucket", bounds=PREV_BOUNDS.format(lo="%(lo)s", hi="%(hi)s")
        )
        last_raw = (
            "last(s.value, s.time)"
            if self.timescale
            else "(array_agg(s.value ORDER BY s.time DESC))[1]"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ROLLUP_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return {**empty, "busy": 1}
            # The statements' estimates (a lookup per series and minute) pass jit_above_cost;
            # compiling them cost 0.25-0.35 s of a 1.1 s run of 600 node-minutes.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS telemetry_claimed "
                "(node_id int4, bucket timestamptz) ON COMMIT DELETE ROWS"
            )
            # Also emptied here: inside an outer transaction nothing has committed yet.
            cursor.execute("TRUNCATE telemetry_claimed")
            cursor.execute(
                f"""WITH pick AS (
                        SELECT node_id, bucket FROM {DIRTY_TABLE} ORDER BY bucket
                        LIMIT %s FOR UPDATE SKIP LOCKED),
                    gone AS (
                        DELETE FROM {DIRTY_TABLE} d USING pick
                        WHERE d.node_id = pick.node_id AND d.bucket = pick.bucket
                        RETURNING d.node_id, d.bucket)
                    INSERT INTO telemetry_claimed SELECT node_id, bucket FROM gone""",
                [max_buckets],
            )
            claimed = cursor.rowcount
            if claimed <= 0:
                return empty
            cursor.execute("SELECT min(bucket), max(bucket) FROM telemetry_claimed")
            first, last = cursor.fetchone()
            # A counter sample landing late in a minute changes the increase of the minute
            # holding that series' next sample too: recompute that one as well.
            cursor.execute(
                f"""INSERT INTO telemetry_claimed (node_id, bucket)
                    SELECT DISTINCT c.node_id, date_trunc('minute', n.time)
                    FROM telemetry_claimed c
                    CROSS JOIN telemetry_metric m
                    CROSS JOIN LATERAL (
                        SELECT s.time FROM {RAW_TABLE} s
                        WHERE s.node_id = c.node_id AND s.metric_id = m.id
                          AND s.time >= c.bucket + interval '1 minute'
                          AND s.time < c.bucket + interval '61 minutes'
                          AND s.time >= %s + interval '1 minute'
                          AND s.time < %s + interval '61 minutes'
                        ORDER BY s.time LIMIT 1) n
                    WHERE m.kind = 'counter'
                    EXCEPT SELECT node_id, bucket FROM telemetry_claimed""",
                [first, last],
            )
            cursor.execute(
                "SELECT min(bucket), max(bucket) + interval '1 minute' FROM telemetry_claimed"
            )
            bounds = dict(zip(("lo", "hi"), cursor.fetchone(), strict=True))
            cursor.execute("ANALYZE telemetry_claimed")
            # Every lookup below is a LATERAL per (node, metric, minute or hour): a range of
            # the primary key. Left to itself the planner hash-joins the whole raw table.
            # Counter increases need samples in time order (a window): a subquery that the
            # CASE evaluates for counters only. Computed here rather than by an UPDATE of
            # the rows just inserted, whose join the planner ran as a probe of the rollup
            # table by (node_id, bucket) alone (83 s for 5,000 minutes of a 7-day backlog)
            # or as a scan of the whole table.
            increase = f"""CASE WHEN m.kind = 'counter' THEN (
                SELECT {INCREASE} FROM (
                    SELECT s.value,
                           coalesce(lag(s.value) OVER (ORDER BY s.time), {prev}) AS prev
                    FROM {RAW_TABLE} s
                    WHERE s.node_id = c.node_id AND s.metric_id = m.id
                      AND s.time >= c.bucket AND s.time < c.bucket + interval '1 minute'
                      AND s.time >= %(lo)s AND s.time < %(hi)s
                ) y) END"""
            cursor.execute(
                f"""INSERT INTO {ROLLUP_1M} ({_ROLLUP_COLUMNS})
                    SELECT c.bucket, c.node_id, m.id, a.min, a.max, a.sum, a.count, a.last,
                           a.last_time, {increase}
                    FROM telemetry_claimed c
                    CROSS JOIN telemetry_metric m
                    CROSS JOIN LATERAL (
                        SELECT min(s.value) AS min, max(s.value) AS max, sum(s.value) AS sum,
                               count(*) AS count, {last_raw} AS last, max(s.time) AS last_time
                        FROM {RAW_TABLE} s
                        WHERE s.node_id = c.node_id AND s.metric_id = m.id
                          AND s.time >= c.bucket AND s.time < c.bucket + interval '1 minute'
                          AND s.time >= %(lo)s AND s.time < %(hi)s
                    ) a
                    WHERE a.count > 0
                    ON CONFLICT (node_id, metric_id, bucket) DO UPDATE SET
                        min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum,
                        count = EXCLUDED.count, last = EXCLUDED.last,
                        last_time = EXCLUDED.last_time, increase = EXCLUDED.increase""",
                bounds,
            )
            minute_rows = cursor.rowcount
            cursor.execute(
                f"""INSERT INTO {ROLLUP_1H} ({_ROLLUP_COLUMNS})
                    SELECT h.hour, h.node_id, m.id, a.min, a.max, a.sum, a.count, a.last,
                           a.last_time, a.increase
                    FROM (SELECT DISTINCT node_id, date_trunc('hour', bucket) AS hour
                          FROM telemetry_claimed) h
                    CROSS JOIN telemetry_metric m
                    CROSS JOIN LATERAL (
                        SELECT min(r.min) AS min, max(r.max) AS max, sum(r.sum) AS sum,
                               sum(r.count) AS count,
                               (array_agg(r.last ORDER BY r.last_time DESC))[1] AS last,
                               max(r.last_time) AS last_time, sum(r.increase) AS increase
                        FROM {ROLLUP_1M} r
                        WHERE r.node_id = h.node_id AND r.metric_id = m.id
                          AND r.bucket >= h.hour AND r.bucket < h.hour + interval '1 hour'
                    ) a
                    WHERE a.count > 0
                    ON CONFLICT (node_id, metric_id, bucket) DO UPDATE SET
                        min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum,
                        count = EXCLUDED.count, last = EXCLUDED.last,
                        last_time = EXCLUDED.last_time, increase = EXCLUDED.increase"""
            )
            hour_rows = cursor.rowcount
        return {"minutes": claimed, "rollup_1m_rows": minute_rows, "rollup_1h_rows": hour_rows}

    def apply_retention(
        self, *, raw_older_than: datetime, rollup_1m_older_than: datetime
    ) -> dict[str, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            if self.timescale:
                cursor.execute(
                    "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => %s)",
                    [RAW_TABLE, raw_older_than],
                )
                raw = int(cursor.fetchone()[0])
                # drop_chunks removes whole chunks only; rows in the chunk straddling the
                # cut stay until that chunk ages out entirely.
                raw_unit = "chunks"
            else:
                cursor.execute(f"DELETE FROM {RAW_TABLE} WHERE time < %s", [raw_older_than])
                raw, raw_unit = cursor.rowcount, "rows"
            cursor.execute(f"DELETE FROM {ROLLUP_1M} WHERE bucket < %s", [rollup_1m_older_than])
            minute = cursor.rowcount
        return {f"raw_{raw_unit}_dropped": raw, "rollup_1m_rows_deleted": minute}
