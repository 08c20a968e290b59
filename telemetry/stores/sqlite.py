"""SQLite store for the embedded mode: the same protocol, aggregation done over raw rows.

Embedded Zenith holds a demo constellation, so every query reads raw rows; there are
no rollup tables to keep (``rollup`` is a no-op) and retention deletes rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from telemetry.stores.base import Batch, Bucket, LatestValue, RawPoint, WriteResult
from telemetry.stores.schema import RAW_TABLE

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _dt(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


class SqliteStore:
    name = "sqlite"

    def write(self, batch: Batch) -> WriteResult:
        if not batch.values:
            return WriteResult(0, 0)
        rows = [
            (_us(t), n, m, v)
            for t, n, m, v in zip(
                batch.times, batch.node_ids, batch.metric_ids, batch.values, strict=True
            )
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            existing = self._existing(cursor, rows)
            new = [row for row in rows if (row[0], row[1], row[2]) not in existing]
            cursor.executemany(
                f"INSERT OR IGNORE INTO {RAW_TABLE} (time_us, node_id, metric_id, value) "
                "VALUES (%s, %s, %s, %s)",
                new,
            )
        fresh: Batch | None = None
        if len(new) < len(rows):
            fresh = Batch()
            for time_us, node_id, metric_id, value in new:
                fresh.times.append(_dt(time_us))
                fresh.node_ids.append(node_id)
                fresh.metric_ids.append(metric_id)
                fresh.values.append(value)
        return WriteResult(len(new), len(rows) - len(new), fresh)

    @staticmethod
    def _existing(
        cursor: Any, rows: list[tuple[int, int, int, float]]
    ) -> set[tuple[int, int, int]]:
        """Keys of the batch already stored (one range query; SQLite serialises writers,
        so nothing appears between this read and the insert)."""
        low = min(row[0] for row in rows)
        high = max(row[0] for row in rows)
        nodes = sorted({row[1] for row in rows})
        marks = ", ".join(["%s"] * len(nodes))
        cursor.execute(
            f"SELECT time_us, node_id, metric_id FROM {RAW_TABLE} "
            f"WHERE node_id IN ({marks}) AND time_us >= %s AND time_us <= %s",
            [*nodes, low, high],
        )
        return {(t, n, m) for t, n, m in cursor.fetchall()}

    def raw(
        self, *, node_id: int, metric_id: int, start: datetime, end: datetime, limit: int
    ) -> list[RawPoint]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT time_us, value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                "AND time_us >= %s AND time_us < %s ORDER BY time_us LIMIT %s",
                [node_id, metric_id, _us(start), _us(end), limit],
            )
            return [RawPoint(_dt(t), v) for t, v in cursor.fetchall()]

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
        width = bucket_s * 1_000_000
        with connection.cursor() as cursor:
            # One row before the range seeds the first counter delta.
            cursor.execute(
                f"SELECT time_us, value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                "AND time_us < %s AND time_us >= %s ORDER BY time_us DESC LIMIT 1",
                [node_id, metric_id, _us(start), _us(start) - 3_600_000_000],
            )
            seed = cursor.fetchone()
            cursor.execute(
                f"SELECT time_us, value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                "AND time_us >= %s AND time_us < %s ORDER BY time_us",
                [node_id, metric_id, _us(start), _us(end)],
            )
            rows = cursor.fetchall()
        out: list[Bucket] = []
        prev: float | None = seed[1] if seed else None
        current: int | None = None
        acc: dict[str, float] = {}
        count = 0

        def flush() -> None:
            if current is None or count == 0:
                return
            out.append(
                Bucket(
                    start=_dt(current),
                    count=count,
                    min=acc["min"],
                    max=acc["max"],
                    avg=acc["sum"] / count,
                    last=acc["last"],
                    rate_per_s=acc["inc"] / bucket_s if counter else None,
                )
            )

        for t, v in rows:
            b = (t // width) * width
            if b != current:
                flush()
                current, count = b, 0
                acc = {"min": v, "max": v, "sum": 0.0, "last": v, "inc": 0.0}
            count += 1
            acc["min"] = min(acc["min"], v)
            acc["max"] = max(acc["max"], v)
            acc["sum"] += v
            acc["last"] = v
            if prev is not None:
                acc["inc"] += v - prev if v >= prev else v
            prev = v
        flush()
        return out

    def latest_for_node(self, *, node_id: int) -> list[LatestValue]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT s.metric_id, max(s.time_us) FROM {RAW_TABLE} s WHERE s.node_id = %s
                    GROUP BY s.metric_id""",
                [node_id],
            )
            pairs = cursor.fetchall()
            out = []
            for metric_id, t in pairs:
                cursor.execute(
                    f"SELECT value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                    "AND time_us = %s",
                    [node_id, metric_id, t],
                )
                out.append(LatestValue(node_id, metric_id, _dt(t), cursor.fetchone()[0]))
        return sorted(out, key=lambda lv: lv.metric_id)

    def latest_for_metric(self, *, metric_id: int, node_ids: list[int]) -> list[LatestValue]:
        out = []
        with connection.cursor() as cursor:
            for node_id in node_ids:
                cursor.execute(
                    f"SELECT time_us, value FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = %s "
                    "ORDER BY time_us DESC LIMIT 1",
                    [node_id, metric_id],
                )
                row = cursor.fetchone()
                if row:
                    out.append(LatestValue(node_id, metric_id, _dt(row[0]), row[1]))
        return out

    def rollup(self, *, max_buckets: int) -> dict[str, int]:
        return {"minutes": 0, "rollup_1m_rows": 0, "rollup_1h_rows": 0}

    def apply_retention(
        self, *, raw_older_than: datetime, rollup_1m_older_than: datetime
    ) -> dict[str, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {RAW_TABLE} WHERE time_us < %s", [_us(raw_older_than)])
            return {"raw_rows_dropped": cursor.rowcount}
