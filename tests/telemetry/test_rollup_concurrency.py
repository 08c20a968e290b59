"""Rollups against concurrent ingest, concurrent rollups and late counter samples.
Each scenario was a lost-data bug found in review; each runs on two real connections."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from telemetry import selectors, services
from telemetry.ingest import Samples
from telemetry.models import Metric

pytestmark = pytest.mark.django_db(transaction=True)

# Ten minutes past an hour, not just any minute: the samples below (up to M + 90 s) must
# share one hour, or the hour rollups are rightly two rows (the suite used to fail
# whenever it was collected at xx:59).
M = (timezone.now() - timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)


def one(node: str, second: int, metric: str, value: float) -> Samples:
    return Samples(
        nodes=[node], times=[M + timedelta(seconds=second)], metrics=[{metric: value}], where=["s"]
    )


def minute(node: Any, metric: str, minutes: int = 1) -> list[tuple[int, float | None]]:
    series = selectors.series_buckets(
        node=node,
        metric=Metric.objects.get(name=metric),
        start=M,
        end=M + timedelta(minutes=minutes),
        bucket_s=60,
    )
    return [(b.count, b.last) for b in series.buckets]


def test_rollup_skips_a_minute_whose_ingest_has_not_committed(nodes: list[Any]) -> None:
    services.telemetry_ingest(samples=one("leo-001", 10, "battery_soc", 0.5))
    written, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def open_ingest() -> None:
        try:
            with transaction.atomic():
                services.telemetry_ingest(samples=one("leo-001", 50, "battery_soc", 0.9))
                written.set()
                release.wait(10)
        except BaseException as exc:
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=open_ingest)
    thread.start()
    assert written.wait(10)
    during = services.telemetry_rollup()  # the marker is locked by the open ingest
    release.set()
    thread.join(10)
    assert not failure
    assert during["minutes"] == 0
    services.telemetry_rollup()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count, last FROM telemetry_rollup_1m")
        assert cursor.fetchall() == [(2, 0.9)]
        cursor.execute("SELECT count(*) FROM telemetry_rollup_dirty")
        assert cursor.fetchone()[0] == 0
    assert minute(nodes[0], "battery_soc") == [(2, 0.9)]


def test_concurrent_rollups_do_not_lose_minutes_of_an_hour(nodes: list[Any]) -> None:
    services.telemetry_ingest(samples=one("leo-001", 5, "gpu_temp_c", 40.0))
    services.telemetry_ingest(samples=one("leo-001", 65, "gpu_temp_c", 41.0))
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait(10)
            results.append(services.telemetry_rollup(max_buckets=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    services.telemetry_rollup()  # whatever a busy run left
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(count) FROM telemetry_rollup_1m")
        minutes_total = cursor.fetchone()[0]
        cursor.execute("SELECT count FROM telemetry_rollup_1h")
        hours = cursor.fetchall()
    assert minutes_total == 2 and hours == [(2,)]


def test_late_counter_sample_fixes_the_next_minute_too(nodes: list[Any]) -> None:
    for second, value in ((30, 10.0), (90, 20.0)):
        services.telemetry_ingest(samples=one("leo-001", second, "xid_errors_total", value))
    services.telemetry_rollup()
    services.telemetry_ingest(samples=one("leo-001", 50, "xid_errors_total", 15.0))  # late
    services.telemetry_rollup()
    ecc = Metric.objects.get(name="xid_errors_total")
    for bucket_s in (60, 30, 3600):  # minute rollups, raw rows, hour rollups
        series = selectors.series_buckets(
            node=nodes[0], metric=ecc, start=M, end=M + timedelta(minutes=2), bucket_s=bucket_s
        )
        increase = sum((b.rate_per_s or 0.0) * bucket_s for b in series.buckets)
        assert increase == pytest.approx(10.0), bucket_s
    per_minute = selectors.series_buckets(
        node=nodes[0], metric=ecc, start=M, end=M + timedelta(minutes=2), bucket_s=60
    )
    assert [round((b.rate_per_s or 0) * 60, 6) for b in per_minute.buckets] == [5.0, 5.0]
