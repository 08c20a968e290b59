"""The bucketed read paths of the PostgreSQL store: hour rollups, minute rollups for the
hours that need them, raw rows for the minutes still marked dirty (telemetry/stores/
postgres_sql.py), each against what the same query reads once everything is rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from telemetry import selectors, services
from telemetry.models import Metric
from tests.telemetry.compression_support import Counter, reference_increases, write

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
STEP = timedelta(seconds=20)


def load(node: Any) -> list[tuple[datetime, float]]:
    """Two days of a gauge and a counter (with resets) every 20 s, across eight chunks."""
    temp = Metric.objects.get(name="gpu_temp_c")
    ecc = Metric.objects.get(name="ecc_errors_total")
    n = int(timedelta(days=2) / STEP)
    counts = Counter(resets=frozenset({1000, 5000})).series(n)
    rows = [(T0 + i * STEP, node.pk, temp.pk, 20.0 + (i % 40) * 0.5) for i in range(n)]
    rows += [(T0 + i * STEP, node.pk, ecc.pk, counts[i]) for i in range(n)]
    write(rows)
    return [(T0 + i * STEP, counts[i]) for i in range(n)]


def read(node: Any, name: str, bucket_s: int) -> list[Any]:
    return selectors.series_buckets(
        node=node,
        metric=Metric.objects.get(name=name),
        start=T0,
        end=T0 + timedelta(days=2),
        bucket_s=bucket_s,
    ).buckets


def test_an_hour_without_its_hour_row_is_read_from_the_minute_rollups(nodes: list[Any]) -> None:
    load(nodes[0])
    services.telemetry_rollup()
    before = {b: read(nodes[0], name, b) for name in ("gpu_temp_c",) for b in (3600, 7200)}
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM telemetry_rollup_1h WHERE bucket IN (%s, %s)",
            [T0 + timedelta(hours=5), T0 + timedelta(hours=30)],
        )
        assert cursor.rowcount == 4  # both metrics
    assert {b: read(nodes[0], "gpu_temp_c", b) for b in (3600, 7200)} == before


def test_dirty_minutes_a_day_apart_are_read_from_raw_rows(nodes: list[Any]) -> None:
    points = load(nodes[0])
    ecc = Metric.objects.get(name="ecc_errors_total")
    temp = Metric.objects.get(name="gpu_temp_c")
    services.telemetry_rollup()
    # Late rows in two minutes a day apart (six chunks between them), not yet rolled up:
    # a counter reset and a new maximum.
    late = [
        (T0 + timedelta(hours=3, seconds=5), nodes[0].pk, ecc.pk, 0.0),
        (T0 + timedelta(hours=27, seconds=5), nodes[0].pk, temp.pk, 99.5),
    ]
    write(late)
    points = sorted([*points, (late[0][0], 0.0)])
    dirty = {
        b: (read(nodes[0], "ecc_errors_total", b), read(nodes[0], "gpu_temp_c", b))
        for b in (60, 3600)
    }
    for bucket_s in (60, 3600):
        counters, gauges = dirty[bucket_s]
        expected = reference_increases(points, T0, timedelta(seconds=bucket_s))
        assert [b.rate_per_s for b in counters] == [expected[b.start] / bucket_s for b in counters]
        assert max(b.max or 0 for b in gauges) == 99.5
        assert sum(b.count for b in gauges) == len(points)
    services.telemetry_rollup()
    assert {
        b: (read(nodes[0], "ecc_errors_total", b), read(nodes[0], "gpu_temp_c", b))
        for b in (60, 3600)
    } == dirty
