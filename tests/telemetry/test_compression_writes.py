"""Late samples and replays into compressed chunks, through the ingest service: nothing is
lost, nothing is stored twice, and the ingest observer sees exactly the rows stored.

Both write paths are exercised: fresh rows go in by ``COPY`` straight into the hypertable;
a batch holding rows already stored falls back to the staging table and
``INSERT ... ON CONFLICT DO NOTHING`` (telemetry/stores/postgres.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from ops.fleet.models import Spacecraft
from telemetry import observers, registry, selectors, services
from telemetry.ingest import Samples
from telemetry.models import Metric
from tests.telemetry.compression_support import (
    BASE,
    CHUNK,
    chunks,
    compress,
    gauge,
    reference_increases,
    require_timescale_license,
    sample_rows,
    write,
)

pytestmark = pytest.mark.django_db(transaction=True)

STEP = timedelta(seconds=10)
Row = tuple[datetime, int, int, float]


@pytest.fixture(autouse=True)
def _timescale() -> None:
    require_timescale_license()


@pytest.fixture
def seen() -> Iterator[list[set[Row]]]:
    calls: list[set[Row]] = []

    def observe(ingested: observers.Ingested) -> None:
        rows = ingested.batch
        calls.append(set(zip(rows.times, rows.node_ids, rows.metric_ids, rows.values, strict=True)))

    observers.register_ingest_observer("compression-test", observe)
    yield calls
    observers.unregister_ingest_observer("compression-test")


@pytest.fixture
def stored(nodes: list[Any]) -> list[Row]:
    """Two chunks of gpu_temp_c and xid_errors_total for leo-001 every 10 s, the first
    compressed, the second not."""
    # Registered as ingest would (transactional tests start from an empty registry).
    registry.metric_ids(["gpu_temp_c", "xid_errors_total"], register=True)
    temp = Metric.objects.get(name="gpu_temp_c")
    xid = Metric.objects.get(name="xid_errors_total")
    rows: list[Row] = []
    for i in range(int(2 * CHUNK / STEP)):
        rows.append((BASE + i * STEP, nodes[0].pk, temp.pk, gauge(i)))
        rows.append((BASE + i * STEP, nodes[0].pk, xid.pk, float(i // 90)))
    assert write(rows).written == len(rows)
    services.telemetry_rollup()
    assert compress(before=BASE + CHUNK) == 1
    assert chunks() == [(BASE, True), (BASE + CHUNK, False)]
    return sorted(rows, key=lambda r: (r[1], r[2], r[0]))


def samples(rows: list[Row]) -> Samples:
    names = {m.pk: m.name for m in Metric.objects.all()}
    slugs = {c.pk: c.slug for c in Spacecraft.objects.all()}
    return Samples(
        nodes=[slugs[n] for _, n, _, _ in rows],
        times=[t for t, _, _, _ in rows],
        metrics=[{names[m]: v} for _, _, m, v in rows],
        where=[f"samples[{i}]" for i in range(len(rows))],
    )


def ordered(rows: list[Row] | set[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r[1], r[2], r[0]))


def test_late_samples_into_a_compressed_chunk_take_the_copy_path(
    stored: list[Row], seen: list[set[Row]], nodes: list[Any]
) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    minute = BASE + timedelta(hours=1)
    late = [
        (minute + i * STEP + timedelta(seconds=5), nodes[0].pk, temp.pk, 99.0) for i in range(6)
    ]
    result = services.telemetry_ingest(samples=samples(late))
    assert (result.written, result.duplicates) == (6, 0)
    assert seen == [set(late)]
    assert sample_rows() == ordered(stored + late)
    for rolled_up in (False, True):  # the dirty minute reads compressed raw rows, then rollups
        if rolled_up:
            services.telemetry_rollup()
        bucket = selectors.series_buckets(
            node=nodes[0], metric=temp, start=minute, end=minute + timedelta(minutes=1), bucket_s=60
        ).buckets[0]
        assert (bucket.count, bucket.max, bucket.last) == (12, 99.0, 99.0)


def test_a_replay_into_a_compressed_chunk_stores_and_shows_nothing(
    stored: list[Row], seen: list[set[Row]]
) -> None:
    replay = [r for r in stored if r[0] < BASE + timedelta(hours=2)]
    changed = [(t, n, m, v + 1000.0) for t, n, m, v in replay]  # the first write wins
    for rows in (replay, changed):
        result = services.telemetry_ingest(samples=samples(rows))
        assert (result.written, result.duplicates) == (0, len(rows))
    assert seen == []
    assert sample_rows() == stored


def test_an_overlap_across_compressed_and_uncompressed_chunks_stores_only_its_new_rows(
    stored: list[Row], seen: list[set[Row]], nodes: list[Any]
) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    xid = Metric.objects.get(name="xid_errors_total")
    old = [r for r in stored if BASE + CHUNK - timedelta(minutes=5) <= r[0] < BASE + CHUNK]
    old += [r for r in stored if BASE + CHUNK <= r[0] < BASE + CHUNK + timedelta(minutes=5)]
    new = [
        (BASE + CHUNK - timedelta(seconds=3), nodes[0].pk, temp.pk, 1.5),  # compressed chunk
        (BASE + CHUNK - timedelta(seconds=3), nodes[0].pk, xid.pk, 0.0),  # a counter reset
        (BASE + timedelta(minutes=1, seconds=1), nodes[1].pk, temp.pk, 2.5),  # new segment
        (BASE + CHUNK + timedelta(seconds=1), nodes[0].pk, temp.pk, 3.5),  # uncompressed
        (BASE + 2 * CHUNK + timedelta(seconds=1), nodes[0].pk, temp.pk, 4.5),  # new chunk
    ]
    result = services.telemetry_ingest(samples=samples(old + new))
    assert (result.written, result.duplicates) == (len(new), len(old))
    assert seen == [set(new)]
    assert sample_rows() == ordered(stored + new)
    again = services.telemetry_ingest(samples=samples(new + old))
    assert (again.written, again.duplicates) == (0, len(old) + len(new))
    assert len(seen) == 1


def test_a_late_counter_sample_in_a_compressed_chunk_fixes_the_next_minute(
    stored: list[Row], nodes: list[Any]
) -> None:
    xid = Metric.objects.get(name="xid_errors_total")
    minute = BASE + timedelta(minutes=90)  # the counter steps 5 -> 6 here
    late = (minute - timedelta(seconds=5), nodes[0].pk, xid.pk, 0.0)  # a reboot, reported late
    services.telemetry_ingest(samples=samples([late]))
    services.telemetry_rollup()
    points = sorted((t, v) for t, _, m, v in [*stored, late] if m == xid.pk)
    for bucket_s in (60, 30, 3600):  # minute rollups, raw rows, hour rollups
        expected = reference_increases(points, BASE, timedelta(seconds=bucket_s))
        series = selectors.series_buckets(
            node=nodes[0],
            metric=xid,
            start=minute - timedelta(minutes=1),
            end=minute + timedelta(minutes=1),
            bucket_s=bucket_s,
        )
        assert [b.rate_per_s for b in series.buckets] == [
            expected[b.start] / bucket_s for b in series.buckets
        ], bucket_s
    # 5 -> 0 (a reset: +0) -> 6 (+6): the minute after the late sample holds all of it.
    minutes = selectors.series_buckets(
        node=nodes[0],
        metric=xid,
        start=minute - timedelta(minutes=1),
        end=minute + timedelta(minutes=1),
        bucket_s=60,
    ).buckets
    assert [(b.rate_per_s or 0) * 60 for b in minutes] == [0.0, 6.0]


def test_concurrent_overlapping_replays_into_one_compressed_batch(
    stored: list[Row], nodes: list[Any]
) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    start = BASE + timedelta(hours=3)
    old = [r for r in stored if r[2] == temp.pk and start <= r[0] < start + timedelta(minutes=10)]
    fresh = [
        (start + i * STEP + timedelta(seconds=5), nodes[0].pk, temp.pk, 7.0) for i in range(60)
    ]
    batches = [old[::2] + fresh[:40], old[1::2] + fresh[20:]]
    barrier = threading.Barrier(2)
    results: list[Any] = []
    failures: list[BaseException] = []

    def ingest(rows: list[Row]) -> None:
        try:
            barrier.wait(10)
            results.append(services.telemetry_ingest(samples=samples(rows)))
        except BaseException as exc:  # reported below, with the other thread's outcome
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sum(r.written for r in results) == len(fresh)
    assert sample_rows() == ordered(stored + fresh)
