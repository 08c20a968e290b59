"""Reads of the telemetry series the evaluation needs (raw SQL on telemetry's table:
the table name is a constant, every value a bound parameter)."""

from __future__ import annotations

from datetime import datetime
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


def previous_stored(keys: Ints, first_s: Floats) -> tuple[Floats, Floats]:
    """The newest stored sample before each series' first sample in the batch (NaN when
    none within a day: a counter that silent restarts its rate, as the rollups do)."""
    metric_ids = (keys >> _SHIFT).tolist()
    node_ids = (keys & _LOW).tolist()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT k.i, extract(epoch FROM p.time), p.value
                FROM unnest(%s::int4[], %s::int4[], %s::float8[]) WITH ORDINALITY
                     AS k(n, m, t, i)
                CROSS JOIN LATERAL (
                    SELECT s.time, s.value FROM {RAW_TABLE} s
                    WHERE s.node_id = k.n AND s.metric_id = k.m
                      AND s.time < to_timestamp(k.t)
                      AND s.time >= to_timestamp(k.t) - interval '1 day'
                    ORDER BY s.time DESC LIMIT 1) p""",  # noqa: S608
            [node_ids, metric_ids, first_s.tolist()],
        )
        found = cursor.fetchall()
    times = np.full(keys.size, np.nan)
    values = np.full(keys.size, np.nan)
    for i, t, v in found:
        times[int(i) - 1], values[int(i) - 1] = float(t), float(v)
    return times, values


def busy_states(node_ids: Ints) -> set[tuple[int, int]]:
    """(rule id, node id) of states that are not at rest, for the batch's nodes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rule_id, spacecraft_id FROM alerts_rulestate "
            "WHERE spacecraft_id = ANY(%s) AND (pending_count > 0 OR alert_id IS NOT NULL)",
            [node_ids.tolist()],
        )
        return {(int(r), int(n)) for r, n in cursor.fetchall()}


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
