"""Stores and selectors against the real database: buckets, gaps, counters, rollups, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from telemetry import selectors, services
from telemetry.exceptions import InvalidTelemetry, UnknownMetric
from telemetry.models import Metric
from telemetry.stores import Batch, get_store
from tests.factories import make_spacecraft

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def write(node: Any, metric: Metric, points: list[tuple[datetime, float]]) -> None:
    batch = Batch()
    for ts, value in points:
        batch.times.append(ts)
        batch.node_ids.append(node.pk)
        batch.metric_ids.append(metric.pk)
        batch.values.append(value)
        batch.touched.add((node.pk, ts.replace(second=0, microsecond=0)))
    get_store().write(batch)


def same(a: list[Any], b: list[Any]) -> bool:
    """Bucket lists equal, averages up to float summation order."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.start, x.count, x.min, x.max, x.last) == (y.start, y.count, y.min, y.max, y.last)
        assert x.avg == pytest.approx(y.avg) if y.avg is not None else x.avg is None
        if y.rate_per_s is None:
            assert x.rate_per_s is None
        else:
            assert x.rate_per_s == pytest.approx(y.rate_per_s)
    return True


def test_store_is_timescaledb_on_postgresql() -> None:
    assert get_store().name == "timescaledb"


def test_buckets_with_gaps_never_interpolated(nodes: list[Any]) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    # minute 0: 10, 20 ; minute 1: nothing ; minute 2: 30
    write(
        nodes[0],
        temp,
        [
            (T0 + timedelta(seconds=5), 10.0),
            (T0 + timedelta(seconds=50), 20.0),
            (T0 + timedelta(minutes=2, seconds=1), 30.0),
        ],
    )
    series = selectors.series_buckets(
        node=nodes[0], metric=temp, start=T0, end=T0 + timedelta(minutes=3), bucket_s=60
    )
    assert [b.count for b in series.buckets] == [2, 0, 1]
    first, gap, last = series.buckets
    assert (first.min, first.max, first.avg, first.last) == (10.0, 20.0, 15.0, 20.0)
    assert (gap.min, gap.max, gap.avg, gap.last) == (None, None, None, None)
    assert last.avg == 30.0


def test_counter_reset_becomes_correct_rate(nodes: list[Any]) -> None:
    ecc = Metric.objects.get(name="ecc_errors_total")
    # 0,5,10 then reboot: 2,4 ; increase = 5+5 + 2 (after reset counts from 0) + 2 = 14
    values = [0.0, 5.0, 10.0, 2.0, 4.0]
    write(nodes[0], ecc, [(T0 + timedelta(seconds=10 * i), v) for i, v in enumerate(values)])
    for bucket_s in (60, 30):  # rollup path and raw path
        series = selectors.series_buckets(
            node=nodes[0], metric=ecc, start=T0, end=T0 + timedelta(minutes=1), bucket_s=bucket_s
        )
        total_increase = sum((b.rate_per_s or 0.0) * bucket_s for b in series.buckets)
        assert total_increase == pytest.approx(14.0), bucket_s


def test_rollups_match_raw_and_survive_retention(nodes: list[Any]) -> None:
    soc = Metric.objects.get(name="battery_soc")
    ecc = Metric.objects.get(name="ecc_errors_total")
    old = T0 - timedelta(days=60)
    points = [(old + timedelta(seconds=15 * i), (i % 40) / 40.0) for i in range(4 * 60 * 3)]  # 3 h
    counts = [(old + timedelta(seconds=15 * i), float(i % 100)) for i in range(4 * 60 * 3)]
    write(nodes[0], soc, points)
    write(nodes[0], ecc, counts)
    before_1m = selectors.series_buckets(
        node=nodes[0], metric=soc, start=old, end=old + timedelta(hours=3), bucket_s=300
    )
    before_1h = selectors.series_buckets(
        node=nodes[0], metric=ecc, start=old, end=old + timedelta(hours=3), bucket_s=3600
    )
    done = services.telemetry_rollup()
    assert done["minutes"] == 180 and done["rollup_1h_rows"] == 6
    after_1m = selectors.series_buckets(
        node=nodes[0], metric=soc, start=old, end=old + timedelta(hours=3), bucket_s=300
    )
    assert same(after_1m.buckets, before_1m.buckets)  # rollups give what raw gave
    dropped = services.telemetry_apply_retention(now=T0)
    assert sum(dropped.values()) > 0
    assert (
        selectors.series_raw(
            node=nodes[0], metric=soc, start=old, end=old + timedelta(hours=3), limit=10
        )
        == []
    )
    after_retention = selectors.series_buckets(
        node=nodes[0], metric=ecc, start=old, end=old + timedelta(hours=3), bucket_s=3600
    )
    assert [b.count for b in after_retention.buckets] == [240, 240, 240]
    assert [round(b.rate_per_s or 0, 9) for b in after_retention.buckets] == [
        round(b.rate_per_s or 0, 9) for b in before_1h.buckets
    ]
    minute_after = selectors.series_buckets(
        node=nodes[0], metric=soc, start=old, end=old + timedelta(hours=3), bucket_s=300
    )
    assert same(minute_after.buckets, before_1m.buckets)


def test_late_sample_updates_rolled_up_minute(nodes: list[Any]) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    write(nodes[0], temp, [(T0 + timedelta(seconds=1), 50.0)])
    services.telemetry_rollup()
    write(nodes[0], temp, [(T0 + timedelta(seconds=2), 70.0)])  # late, same minute
    series = selectors.series_buckets(
        node=nodes[0], metric=temp, start=T0, end=T0 + timedelta(minutes=1), bucket_s=60
    )
    assert series.buckets[0].max == 70.0 and series.buckets[0].count == 2
    services.telemetry_rollup()
    again = selectors.series_buckets(
        node=nodes[0], metric=temp, start=T0, end=T0 + timedelta(minutes=1), bucket_s=60
    )
    assert again.buckets == series.buckets


def test_latest_per_node_and_fleet(nodes: list[Any]) -> None:
    temp = Metric.objects.get(name="gpu_temp_c")
    soc = Metric.objects.get(name="battery_soc")
    write(nodes[0], temp, [(T0, 40.0), (T0 + timedelta(seconds=1), 41.0)])
    write(nodes[0], soc, [(T0, 0.5)])
    write(nodes[1], temp, [(T0 + timedelta(seconds=9), 55.0)])
    latest = {m.name: v.value for m, v in selectors.latest_for_node(node=nodes[0])}
    assert latest == {"gpu_temp_c": 41.0, "battery_soc": 0.5}
    fleet = {n.slug: (v.value if v else None) for n, v in selectors.latest_for_metric(metric=temp)}
    assert fleet == {"leo-001": 41.0, "leo-002": 55.0, "leo-003": None}


def test_bucket_choice() -> None:
    assert selectors.bucket_for(start=T0, end=T0 + timedelta(hours=24), target_points=1440) == 60
    assert selectors.bucket_for(start=T0, end=T0 + timedelta(hours=1), target_points=500) == 10
    assert selectors.bucket_for(start=T0, end=T0 + timedelta(days=30), target_points=500) == 7200


def test_extension_features_detected() -> None:
    from telemetry.stores.schema import enable_compression, timescale_features

    with connection.cursor() as cursor:
        features = timescale_features(cursor)
        cursor.execute("SELECT current_setting('timescaledb.license', true)")
        license_name = cursor.fetchone()[0]
        assert features["hypertable"] is True
        assert features["compression"] is (license_name == "timescale")
        assert enable_compression(cursor, after_days=7) is features["compression"]
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.hypertables "
            "WHERE hypertable_name = 'telemetry_sample'"
        )
        assert cursor.fetchone()[0] == 1


def test_node_and_metric_lookups_with_a_restriction() -> None:
    mine, other = make_spacecraft("leo-001"), make_spacecraft("leo-002", active=False)
    assert selectors.node_get(slug="leo-002") == other  # inactive: its history stays readable
    assert selectors.node_get(slug="leo-001", allowed_spacecraft_ids=frozenset({mine.pk})) == mine
    # Outside the restriction (or restricted to none) reads as unknown, like a ghost.
    for slug, allowed in (("leo-002", {mine.pk}), ("ghost", {mine.pk}), ("leo-001", set())):
        with pytest.raises(InvalidTelemetry) as refused:
            selectors.node_get(slug=slug, allowed_spacecraft_ids=frozenset(allowed))
        assert (refused.value.code, refused.value.status, refused.value.fields) == (
            "invalid_telemetry",
            400,
            {"node": "unknown spacecraft"},
        )
    temp = Metric.objects.get(name="gpu_temp_c")
    assert selectors.metric_get(name="gpu_temp_c") == temp
    with pytest.raises(UnknownMetric) as unknown:
        selectors.metric_get(name="nope")
    assert unknown.value.fields == {"metric": "unknown metric"}
