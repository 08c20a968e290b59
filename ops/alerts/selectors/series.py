"""Reads of the telemetry series the evaluation needs (raw SQL on telemetry's table:
the table name is a constant, every value a bound parameter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection

from ops.alerts import limits
from telemetry.stores.schema import RAW_TABLE

_SHIFT = np.int64(32)
_LOW = np.int64(0xFFFFFFFF)
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


_BUSY = (
    "ARRAY(SELECT (rule_id << 32) | spacecraft_id FROM alerts_rulestate "
    "WHERE pending_count > 0 OR alert_id IS NOT NULL)"
)
_VERSION = "(SELECT version FROM alerts_rulesetversion WHERE id = 1)"
# Keys and times travel as one comma-separated string each: psycopg (client-side binding,
# as Django uses it) quotes a list element by element, which costs more than the query.
_PREVIOUS = f"""
    SELECT array_agg(k.i - 1 ORDER BY k.i), array_agg(extract(epoch FROM p.time) ORDER BY k.i),
           array_agg(p.value ORDER BY k.i)
    FROM unnest(string_to_array(%s, ',')::int8[], string_to_array(%s, ',')::float8[])
         WITH ORDINALITY AS k(key, t, i)
    CROSS JOIN LATERAL (
        SELECT s.time, s.value FROM {RAW_TABLE} s
        WHERE s.node_id = (k.key & 4294967295)::int4 AND s.metric_id = (k.key >> 32)::int4
          AND s.time < to_timestamp(k.t)
          AND s.time >= to_timestamp(k.t) - interval '1 hour'
          AND s.time >= %s::timestamptz
        ORDER BY s.time DESC LIMIT 1) p"""  # noqa: S608 - a constant table name


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    busy: Ints  # (rule id << 32) | node id of every state not at rest
    prev_t: Floats  # per rate series asked for: its sample before the batch (NaN: none)
    prev_v: Floats


def snapshot(rate_keys: Ints, first_s: Floats) -> Snapshot:
    """What the ingest path reads, in one round trip (its fixed cost per batch): the
    rule-set version, the busy (rule, node) states (few: pending hold-fors and open
    occurrences), and for each rate series the newest stored sample before the batch's
    first one, within an hour (a counter silent longer restarts its rate, as in the
    rollups). The constant lower bound lets TimescaleDB skip old chunks when planning."""
    prev_t = np.full(rate_keys.size, np.nan)
    prev_v = np.full(rate_keys.size, np.nan)
    if rate_keys.size:
        floor = datetime.fromtimestamp(float(first_s.min()) - 3600.0, tz=UTC)
        sql = f"SELECT {_VERSION}, {_BUSY}, f.* FROM ({_PREVIOUS}) AS f"  # noqa: S608
        params: list[Any] = [
            ",".join(map(str, rate_keys.tolist())),
            ",".join(map(repr, first_s.tolist())),
            floor,
        ]
    else:
        sql, params = f"SELECT {_VERSION}, {_BUSY}, NULL, NULL, NULL", []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        version, busy, found_i, found_t, found_v = cursor.fetchone()
    if found_i:
        index = np.array(found_i, dtype=np.int64)
        prev_t[index] = np.array(found_t, dtype=np.float64)
        prev_v[index] = np.array(found_v, dtype=np.float64)
    return Snapshot(int(version or 0), np.array(busy or [], dtype=np.int64), prev_t, prev_v)


def newest_stored_before(
    node_id: int, metric_ids: list[int], samples: list[limits.Sample]
) -> datetime | None:
    """The newest sample of the series stored before this batch, if newer than some of
    the batch's samples (then those are a backlog); ``None`` otherwise."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(time) FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = ANY(%s) "  # noqa: S608
            "AND time > %s AND NOT (time = ANY(%s))",
            [node_id, metric_ids, samples[0].at, [s.at for s in samples]],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def next_stored_after(node_id: int, metric_ids: list[int], after: datetime) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(time) FROM {RAW_TABLE} WHERE node_id = %s AND metric_id = ANY(%s) "  # noqa: S608
            "AND time > %s",
            [node_id, metric_ids, after],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def heard_since(
    checks: list[tuple[int, datetime]], metric_ids: list[int] | None = None
) -> set[int]:
    """Which of ``checks`` (node id, since) have a sample at or after ``since`` (of one of
    ``metric_ids`` when given): their indices. One query; each check is an index probe."""
    if not checks:
        return set()
    metric_filter = "AND s.metric_id = ANY(%s)" if metric_ids is not None else ""
    params: list[Any] = [[n for n, _ in checks], [t for _, t in checks]]
    if metric_ids is not None:
        params.append(metric_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT k.i FROM unnest(%s::int4[], %s::timestamptz[]) WITH ORDINALITY
                    AS k(n, t, i)
                WHERE EXISTS (SELECT 1 FROM {RAW_TABLE} s
                              WHERE s.node_id = k.n AND s.time >= k.t {metric_filter})""",  # noqa: S608
            params,
        )
        return {int(i) - 1 for (i,) in cursor.fetchall()}


def last_seen(node_ids: list[int], *, since: datetime) -> dict[int, datetime]:
    """Newest sample time per node, looking back to ``since`` only."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT n.id, (SELECT max(s.time) FROM {RAW_TABLE} s
                              WHERE s.node_id = n.id AND s.time >= %s)
                FROM unnest(%s::int4[]) AS n(id)""",  # noqa: S608
            [since, node_ids],
        )
        return {int(n): t for n, t in cursor.fetchall() if t is not None}
