"""DDL for the time-series tables, per backend and per what the extension offers.

Layout: one row per value, ``(time, node_id, metric_id, value)``, primary key
``(node_id, metric_id, time)``. Measured and argued in ``telemetry/README.md``:
a wide row per (node, time) copies 7-10x more values per second, but idempotence is
asked per value ("unique node + metric + time") and fields of one timestamp arrive
in separate requests (Telegraf plugins, MQTT); a wide row would need a read-modify-
write merge on every conflict, losing the advantage. The narrow row makes replay
safety a plain unique index and keeps "one metric of one node" an index range scan.
"""

from __future__ import annotations

from typing import Any

RAW_TABLE = "telemetry_sample"
DIRTY_TABLE = "telemetry_rollup_dirty"
ROLLUP_1M = "telemetry_rollup_1m"
ROLLUP_1H = "telemetry_rollup_1h"


def _rollup_ddl(table: str) -> str:
    return f"""
        CREATE TABLE IF NOT EXISTS {table} (
            bucket     timestamptz      NOT NULL,
            node_id    integer          NOT NULL,
            metric_id  integer          NOT NULL,
            min        double precision NOT NULL,
            max        double precision NOT NULL,
            sum        double precision NOT NULL,
            count      bigint           NOT NULL,
            last       double precision NOT NULL,
            last_time  timestamptz      NOT NULL,
            increase   double precision,
            PRIMARY KEY (node_id, metric_id, bucket)
        )"""


def timescaledb_available(cursor: Any) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    return cursor.fetchone() is not None


def is_hypertable(cursor: Any, table: str = RAW_TABLE) -> bool:
    if not timescaledb_available(cursor):
        return False
    cursor.execute(
        "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s", [table]
    )
    return cursor.fetchone() is not None


def timescale_features(cursor: Any) -> dict[str, bool]:
    """What the installed TimescaleDB offers. The Apache-licensed build (what Debian ships
    and CI builds) has hypertables, ``time_bucket`` and ``drop_chunks``; compression and
    continuous aggregates need the Timescale-licensed build."""
    if not timescaledb_available(cursor):
        return {"hypertable": False, "compression": False, "continuous_aggregates": False}
    cursor.execute("SELECT current_setting('timescaledb.license', true)")
    row = cursor.fetchone()
    community = bool(row and row[0] == "timescale")
    return {"hypertable": True, "compression": community, "continuous_aggregates": community}


def enable_compression(cursor: Any, *, after_days: int) -> bool:
    """Compress raw chunks older than ``after_days`` (segment by series, newest first)."""
    if not timescale_features(cursor)["compression"]:
        return False
    cursor.execute(
        f"ALTER TABLE {RAW_TABLE} SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'node_id, metric_id', "
        "timescaledb.compress_orderby = 'time DESC')"
    )
    cursor.execute(
        "SELECT add_compression_policy(%s::regclass, %s * interval '1 day', if_not_exists => true)",
        [RAW_TABLE, after_days],
    )
    return True


def create_postgres(cursor: Any, *, chunk_interval_hours: int) -> None:
    cursor.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
            time       timestamptz      NOT NULL,
            node_id    integer          NOT NULL,
            metric_id  integer          NOT NULL,
            value      double precision NOT NULL,
            PRIMARY KEY (node_id, metric_id, time)
        )"""
    )
    cursor.execute(_rollup_ddl(ROLLUP_1M))
    cursor.execute(_rollup_ddl(ROLLUP_1H))
    cursor.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {DIRTY_TABLE} (
            node_id  integer     NOT NULL,
            bucket   timestamptz NOT NULL,
            PRIMARY KEY (node_id, bucket)
        )"""
    )
    if timescaledb_available(cursor):
        cursor.execute(
            "SELECT create_hypertable(%s::regclass, 'time', "
            "chunk_time_interval => %s * interval '1 hour', if_not_exists => true, "
            "migrate_data => true)",
            [RAW_TABLE, chunk_interval_hours],
        )


def drop_postgres(cursor: Any) -> None:
    for table in (DIRTY_TABLE, ROLLUP_1H, ROLLUP_1M, RAW_TABLE):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def create_sqlite(cursor: Any) -> None:
    # Times are integer microseconds since the Unix epoch (UTC).
    cursor.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
            time_us    integer NOT NULL,
            node_id    integer NOT NULL,
            metric_id  integer NOT NULL,
            value      real    NOT NULL,
            PRIMARY KEY (node_id, metric_id, time_us)
        ) WITHOUT ROWID"""
    )


def drop_sqlite(cursor: Any) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
