"""SQL of the PostgreSQL store that is more than a line: the counter increase, the lookups
bounded for chunk exclusion, the replay pre-filter, and the bucketed reads built from
rollups and the minutes still marked dirty."""

from __future__ import annotations

from telemetry.stores.schema import DIRTY_TABLE, RAW_TABLE, ROLLUP_1H, ROLLUP_1M

# Counter increase of a row: the delta to the previous sample, or the value itself when
# the counter went down (it restarted from zero on a reboot). The previous sample of the
# first row in a minute is looked up before the minute (within an hour: longer silences
# restart the count, which undercounts rather than inventing increments).
PREV_BEFORE = (
    "(SELECT p.value FROM telemetry_sample p WHERE p.node_id = s.node_id "
    "AND p.metric_id = s.metric_id AND p.time < {bucket} "
    "AND p.time >= {bucket} - interval '1 hour' {bounds} ORDER BY p.time DESC LIMIT 1)"
)
# Constant time bounds beside the per-row ones, in every per-(series, minute) lookup: the
# planner can then leave out the chunks outside them. Without them each lookup is a
# ChunkAppend that excludes chunks at run time, one by one: with a retention window of
# 140 chunks that cost 0.45 ms a lookup, 26 ms a node-minute in the rollup job.
PREV_BOUNDS = "AND p.time >= {lo} - interval '1 hour' AND p.time < {hi}"
INCREASE = "sum(CASE WHEN prev IS NULL THEN 0 WHEN value >= prev THEN value - prev ELSE value END)"

# A replay into compressed chunks: ``ON CONFLICT`` checks each row against the compressed
# batch holding its time, decompressing that batch (up to 1,000 rows) per row, 30-40x
# slower than into uncompressed chunks (telemetry/README.md). So the rows already stored
# are first dropped from the staging table with one read per series over the batch's
# range, which decompresses each batch once; the insert then checks only the new rows.
# Only done when the batch reaches a compressed chunk: on uncompressed chunks the per-row
# index probes are as cheap, and a sparse batch would read whole ranges for nothing.
# The catalog is read directly: timescaledb_information.chunks takes ~20 ms a call.
COMPRESSED_IN_RANGE = """
    SELECT EXISTS (
        SELECT 1 FROM _timescaledb_catalog.chunk c
        JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
        JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id
        JOIN _timescaledb_catalog.dimension_slice ds ON ds.id = cc.dimension_slice_id
        WHERE h.table_name = %s AND c.compressed_chunk_id IS NOT NULL AND NOT c.dropped
          AND _timescaledb_functions.to_timestamp(ds.range_start) <= %s
          AND _timescaledb_functions.to_timestamp(ds.range_end) > %s)"""
DROP_STORED = f"""
    DELETE FROM telemetry_stage st USING (
        SELECT s.node_id, s.metric_id, s.time
        FROM (SELECT node_id, metric_id, min(time) AS lo, max(time) AS hi
              FROM telemetry_stage GROUP BY node_id, metric_id) k
        CROSS JOIN LATERAL (
            SELECT x.node_id, x.metric_id, x.time FROM {RAW_TABLE} x
            WHERE x.node_id = k.node_id AND x.metric_id = k.metric_id
              AND x.time >= k.lo AND x.time <= k.hi
              AND x.time >= %s AND x.time <= %s) s
    ) e
    WHERE st.node_id = e.node_id AND st.metric_id = e.metric_id AND st.time = e.time"""

# Bucketed reads. Parameters: %(n)s node, %(m)s metric, [%(s)s, %(e)s) the range (whole
# buckets), %(hours)s its length in hours, and, when minutes of the node in the range are
# marked dirty, [%(dlo)s, %(dhi)s] the first and last of those minutes. Markers outside
# that window (a write committed after it was read) are left for the next query, as if
# the query had run just before that write. Knowing the window first means the raw-row
# lookups are planned for its chunks only, and not at all when nothing is dirty:
# planning them over a month's 120 chunks took longer than running the query.
_MARKED = "d.node_id = %(n)s AND d.bucket >= %(dlo)s AND d.bucket <= %(dhi)s"
_DIRTY_RAW_BOUNDS = "AND s.time >= %(dlo)s AND s.time < %(dhi)s + interval '1 minute'"


def minute_parts(*, counter: bool, dirty: bool, lo: str = "%(s)s", hi: str = "%(e)s") -> str:
    """Per-minute partial aggregates over [lo, hi) (SQL expressions within the range):
    rollup rows, except minutes marked dirty, which are aggregated from the raw rows (the
    rollup job has not caught up with them yet)."""
    rollups = f"""
        SELECT r.bucket, r.min, r.max, r.sum, r.count, r.last, r.last_time, r.increase
        FROM {ROLLUP_1M} r
        WHERE r.node_id = %(n)s AND r.metric_id = %(m)s AND r.bucket >= {lo} AND r.bucket < {hi}"""
    if not dirty:
        return rollups
    prev = PREV_BEFORE.format(
        bucket="d.bucket",
        bounds=PREV_BOUNDS.format(lo="%(dlo)s", hi="%(dhi)s + interval '1 minute'"),
    )
    increase = (
        f"(SELECT {INCREASE} FROM (SELECT s.value, coalesce(lag(s.value) OVER "
        f"(ORDER BY s.time), {prev}) AS prev FROM {RAW_TABLE} s "
        "WHERE s.node_id = d.node_id AND s.metric_id = %(m)s AND s.time >= d.bucket "
        f"AND s.time < d.bucket + interval '1 minute' {_DIRTY_RAW_BOUNDS}) AS x)"
        if counter
        else "NULL::float8"
    )
    return f"""{rollups}
          AND NOT EXISTS (SELECT 1 FROM {DIRTY_TABLE} d WHERE {_MARKED} AND d.bucket = r.bucket)
        UNION ALL
        SELECT d.bucket, a.min, a.max, a.sum, a.count, a.last, a.last_time, {increase}
        FROM {DIRTY_TABLE} d
        CROSS JOIN LATERAL (
            SELECT min(s.value) AS min, max(s.value) AS max, sum(s.value) AS sum,
                   count(*) AS count, (array_agg(s.value ORDER BY s.time DESC))[1] AS last,
                   max(s.time) AS last_time
            FROM {RAW_TABLE} s
            WHERE s.node_id = d.node_id AND s.metric_id = %(m)s
              AND s.time >= d.bucket AND s.time < d.bucket + interval '1 minute'
              {_DIRTY_RAW_BOUNDS}
        ) a
        WHERE {_MARKED} AND d.bucket >= {lo} AND d.bucket < {hi} AND a.count > 0"""


def hour_parts(*, counter: bool, dirty: bool) -> str:
    """Per-hour partials: hour rollups for clean hours; minute partials for the hours with
    a dirty minute, or with minute rollups but no hour row. The minute partials are read
    for those hours only: filtering every minute of the range instead cost 11 ms a week."""
    minute_rows = minute_parts(
        counter=counter, dirty=dirty, lo="need.hour", hi="need.hour + interval '1 hour'"
    )
    in_hour = "d.bucket >= h.bucket AND d.bucket < h.bucket + interval '1 hour'"
    clean = (
        f"AND NOT EXISTS (SELECT 1 FROM {DIRTY_TABLE} d WHERE {_MARKED} AND {in_hour})"
        if dirty
        else ""
    )
    dirty_hours = (
        f"""SELECT date_trunc('hour', d.bucket) AS hour FROM {DIRTY_TABLE} d
            WHERE {_MARKED} AND d.bucket >= %(s)s AND d.bucket < %(e)s
            UNION"""
        if dirty
        else ""
    )
    return f"""
        SELECT h.bucket, h.min, h.max, h.sum, h.count, h.last, h.last_time, h.increase
        FROM {ROLLUP_1H} h
        WHERE h.node_id = %(n)s AND h.metric_id = %(m)s
          AND h.bucket >= %(s)s AND h.bucket < %(e)s {clean}
        UNION ALL
        SELECT mp.* FROM (
            {dirty_hours}
            SELECT g.hour FROM (
                SELECT %(s)s::timestamptz + i * interval '1 hour' AS hour
                FROM generate_series(0, %(hours)s - 1) AS i) g
            WHERE NOT EXISTS (SELECT 1 FROM {ROLLUP_1H} h2 WHERE h2.node_id = %(n)s
                              AND h2.metric_id = %(m)s AND h2.bucket = g.hour)
              AND EXISTS (SELECT 1 FROM {ROLLUP_1M} r2 WHERE r2.node_id = %(n)s
                          AND r2.metric_id = %(m)s AND r2.bucket >= g.hour
                          AND r2.bucket < g.hour + interval '1 hour')
        ) need
        CROSS JOIN LATERAL ({minute_rows}) mp"""
