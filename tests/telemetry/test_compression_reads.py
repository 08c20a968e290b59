"""Reads, rollups and retention on compressed chunks (the Timescale-licensed build, as
deployments run it): everything reads exactly what it read before compression."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from telemetry import selectors, services
from telemetry.models import Metric
from tests.telemetry.compression_support import (
    BASE,
    CHUNK,
    Counter,
    chunks,
    compress,
    differences,
    gauge,
    mark_all_dirty,
    reference_increases,
    require_timescale_license,
    rollup_rows,
    sample_rows,
    snapshot,
    write,
)

pytestmark = pytest.mark.django_db

STEP = timedelta(seconds=10)
END = BASE + 3 * CHUNK
# Counter restarts, one of them on the first sample of the second chunk: the reset is
# seen across a compressed/uncompressed boundary.
ECC = Counter(resets=frozenset({700, int(CHUNK / STEP), 4000}))


@pytest.fixture(autouse=True)
def _timescale() -> None:
    require_timescale_license()


def metrics() -> list[Metric]:
    return [Metric.objects.get(name=n) for n in ("gpu_temp_c", "ecc_errors_total", "battery_soc")]


def load(nodes: list[Any]) -> dict[str, list[tuple[datetime, float]]]:
    """18 h (three chunks) for leo-001, 10 h for leo-002 (its latest lands in the middle
    chunk), nothing for leo-003; gaps across the first chunk boundary and inside a chunk."""
    temp, ecc, soc = metrics()
    n = int(3 * CHUNK / STEP)
    counts = ECC.series(n)
    series: dict[str, list[tuple[datetime, float]]] = {"ecc": [], "temp": []}
    rows = []
    for i in range(n):
        ts = BASE + i * STEP
        if not (CHUNK - timedelta(minutes=10) <= ts - BASE < CHUNK + timedelta(minutes=10)):
            rows.append((ts, nodes[0].pk, temp.pk, gauge(i)))
            series["temp"].append((ts, gauge(i)))
        if not (timedelta(hours=2) <= ts - BASE < timedelta(hours=2, minutes=12)):
            rows.append((ts, nodes[0].pk, ecc.pk, counts[i]))
            series["ecc"].append((ts, counts[i]))
        rows.append((ts, nodes[0].pk, soc.pk, (i % 64) / 64))
        if ts < BASE + timedelta(hours=10):
            rows.append((ts, nodes[1].pk, temp.pk, gauge(i + 3)))
            rows.append((ts, nodes[1].pk, ecc.pk, counts[(i + 11) % n]))
    result = write(rows)
    assert result.written == len(rows)
    return series


def test_reads_across_compressed_and_uncompressed_chunks_are_unchanged(nodes: list[Any]) -> None:
    series = load(nodes)
    before = snapshot(nodes, metrics(), BASE, END)
    assert compress(before=BASE + 2 * CHUNK) == 2
    assert [done for _, done in chunks()] == [True, True, False]
    assert differences(before, snapshot(nodes, metrics(), BASE, END)) == []
    services.telemetry_rollup()  # minutes and hours now aggregated from compressed rows
    assert differences(before, snapshot(nodes, metrics(), BASE, END)) == []
    assert compress() == 1  # every chunk compressed: latest values come from compressed rows
    after = snapshot(nodes, metrics(), BASE, END)
    assert differences(before, after) == []

    # The equality above is not vacuous: gaps stay gaps, counters count across resets.
    temp_minutes = after["buckets 60 leo-001/gpu_temp_c"]
    assert [b.count for b in temp_minutes[340:360]] == [6] * 10 + [0] * 10
    assert temp_minutes[369].count == 0 and temp_minutes[370].count == 6
    ecc_minutes = after["buckets 60 leo-001/ecc_errors_total"]
    expected = reference_increases(series["ecc"], BASE, timedelta(minutes=1))
    assert [b.rate_per_s for b in ecc_minutes if b.count] == [
        expected[b.start] / 60 for b in ecc_minutes if b.count
    ]
    hours = after["buckets 3600 leo-001/ecc_errors_total"]
    expected_h = reference_increases(series["ecc"], BASE, timedelta(hours=1))
    assert [b.rate_per_s for b in hours] == [expected_h[b.start] / 3600 for b in hours]
    assert sum(expected_h.values()) > 0 and len(ECC.resets) == 3
    assert after["fleet gpu_temp_c"] == [
        ("leo-001", after["fleet gpu_temp_c"][0][1]),
        ("leo-002", after["fleet gpu_temp_c"][1][1]),
        ("leo-003", None),
    ]
    assert after["fleet gpu_temp_c"][1][1].time == BASE + timedelta(hours=10) - STEP
    assert len(after["export leo-001"]) == 3 * int(3 * CHUNK / STEP) - 120 - 72


def test_rollups_from_compressed_rows_equal_rollups_from_uncompressed(nodes: list[Any]) -> None:
    load(nodes)
    services.telemetry_rollup()
    from_uncompressed = rollup_rows()
    assert len(from_uncompressed["telemetry_rollup_1h"]) == 3 * 18 + 2 * 10
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE telemetry_rollup_1m, telemetry_rollup_1h")
    assert compress() == 3
    mark_all_dirty()
    done = services.telemetry_rollup()
    assert done["minutes"] == 18 * 60 + 10 * 60
    assert rollup_rows() == from_uncompressed


def test_retention_drops_compressed_chunks_and_the_rollups_stay(nodes: list[Any]) -> None:
    now = timezone.now()
    old = (now - timedelta(days=settings.TELEMETRY_RAW_RETENTION_DAYS + 5)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ecc = Metric.objects.get(name="ecc_errors_total")
    temp = Metric.objects.get(name="gpu_temp_c")
    counts = ECC.series(int(CHUNK / STEP))
    points = [(old + i * STEP, v) for i, v in enumerate(counts)]
    write([(ts, nodes[0].pk, ecc.pk, v) for ts, v in points])
    write([(old + i * STEP, nodes[0].pk, temp.pk, gauge(i)) for i in range(len(points))])
    recent = [(BASE + i * STEP, nodes[0].pk, temp.pk, gauge(i)) for i in range(360)]
    write(recent)
    services.telemetry_rollup()
    before = {
        (metric.name, bucket_s): selectors.series_buckets(
            node=nodes[0], metric=metric, start=old, end=old + CHUNK, bucket_s=bucket_s
        ).buckets
        for metric in (ecc, temp)
        for bucket_s in (60, 3600)
    }
    assert compress() == 2
    detail = services.telemetry_apply_retention(now=now)
    assert detail["raw_chunks_dropped"] == 1
    assert chunks() == [(BASE, True)]
    assert sample_rows() == recent  # the compressed recent chunk is intact
    assert (
        selectors.series_raw(node=nodes[0], metric=ecc, start=old, end=old + CHUNK, limit=5) == []
    )
    after = {
        (metric.name, bucket_s): selectors.series_buckets(
            node=nodes[0], metric=metric, start=old, end=old + CHUNK, bucket_s=bucket_s
        ).buckets
        for metric in (ecc, temp)
        for bucket_s in (60, 3600)
    }
    assert after == before
    expected = reference_increases(points, old, timedelta(hours=1))
    hours = selectors.series_buckets(
        node=nodes[0], metric=ecc, start=old, end=old + CHUNK, bucket_s=3600
    ).buckets
    assert [b.rate_per_s for b in hours] == [expected[b.start] / 3600 for b in hours]


def test_compression_is_configured_with_its_policy() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc "
            "FROM timescaledb_information.compression_settings "
            "WHERE hypertable_name = 'telemetry_sample' ORDER BY attname"
        )
        assert cursor.fetchall() == [
            ("metric_id", 2, None, None),
            ("node_id", 1, None, None),
            ("time", None, 1, False),
        ]
        cursor.execute(
            "SELECT config ->> 'compress_after' FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_compression' AND hypertable_name = 'telemetry_sample'"
        )
        assert cursor.fetchall() == [(f"{settings.TELEMETRY_COMPRESS_AFTER_DAYS} days",)]
