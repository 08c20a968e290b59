"""Telemetry reads: series (raw or bucketed, gaps kept), latest values, CSV export, and the
node and metric a query names."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet

from ops.edge.access import only_allowed
from ops.fleet.models import Spacecraft
from telemetry.exceptions import InvalidTelemetry, UnknownMetric
from telemetry.models import Metric, MetricKind
from telemetry.stores import Bucket, LatestValue, RawPoint, get_store

NICE_BUCKETS_S = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_for(*, start: datetime, end: datetime, target_points: int) -> int:
    """The smallest "nice" bucket that keeps the series under ``target_points`` buckets."""
    span = (end - start).total_seconds()
    wanted = span / max(1, target_points)
    for step in NICE_BUCKETS_S:
        if step >= wanted:
            return step
    return int(math.ceil(wanted / 86400) * 86400)


def _floor(ts: datetime, step_s: int) -> datetime:
    seconds = (ts - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.floor(seconds / step_s) * step_s)


def _ceil(ts: datetime, step_s: int) -> datetime:
    seconds = (ts - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.ceil(seconds / step_s) * step_s)


@dataclass(frozen=True, slots=True)
class Series:
    node: str
    metric: Metric
    start: datetime
    end: datetime
    bucket_s: int
    buckets: list[Bucket]


def series_buckets(
    *, node: Spacecraft, metric: Metric, start: datetime, end: datetime, bucket_s: int
) -> Series:
    """Bucketed series over [start, end), aligned to the Unix epoch; empty buckets are gaps.

    Every bucket in the range is returned, in order; a bucket with no samples has
    ``count == 0`` and ``None`` statistics: nothing is interpolated.
    """
    aligned_start, aligned_end = _floor(start, bucket_s), _ceil(end, bucket_s)
    counter = metric.kind == MetricKind.COUNTER
    found = {
        b.start: b
        for b in get_store().buckets(
            node_id=node.pk,
            metric_id=metric.pk,
            start=aligned_start,
            end=aligned_end,
            bucket_s=bucket_s,
            counter=counter,
        )
    }
    buckets: list[Bucket] = []
    step = timedelta(seconds=bucket_s)
    cursor = aligned_start
    while cursor < aligned_end:
        buckets.append(found.get(cursor) or Bucket(cursor, 0, None, None, None, None, None))
        cursor += step
    return Series(node.slug, metric, aligned_start, aligned_end, bucket_s, buckets)


def series_raw(
    *, node: Spacecraft, metric: Metric, start: datetime, end: datetime, limit: int
) -> list[RawPoint]:
    return get_store().raw(node_id=node.pk, metric_id=metric.pk, start=start, end=end, limit=limit)


def latest_for_node(*, node: Spacecraft) -> list[tuple[Metric, LatestValue]]:
    values = get_store().latest_for_node(node_id=node.pk)
    metrics = Metric.objects.in_bulk([v.metric_id for v in values])
    return [(metrics[v.metric_id], v) for v in values if v.metric_id in metrics]


def latest_for_metric(
    *, metric: Metric, allowed_spacecraft_ids: frozenset[int] | None = None
) -> list[tuple[Spacecraft, LatestValue | None]]:
    nodes: QuerySet[Spacecraft] = Spacecraft.objects.filter(active=True).order_by("slug")
    nodes = only_allowed(nodes, allowed_spacecraft_ids=allowed_spacecraft_ids, field="pk")
    node_list = list(nodes)
    values = {
        v.node_id: v
        for v in get_store().latest_for_metric(
            metric_id=metric.pk, node_ids=[n.pk for n in node_list]
        )
    }
    return [(n, values.get(n.pk)) for n in node_list]


def export_rows(
    *,
    node: Spacecraft,
    metrics: list[Metric],
    start: datetime,
    end: datetime,
    chunk: int = 50_000,
) -> Iterator[tuple[str, str, str, float]]:
    """Raw rows ``(time, node, metric, value)`` for CSV export, streamed in chunks."""
    for metric in metrics:
        cursor = start
        while cursor < end:
            rows = get_store().raw(
                node_id=node.pk, metric_id=metric.pk, start=cursor, end=end, limit=chunk
            )
            for row in rows:
                yield (
                    row.time.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                    node.slug,
                    metric.name,
                    row.value,
                )
            if len(rows) < chunk:
                break
            cursor = rows[-1].time + timedelta(microseconds=1)


def metric_list() -> QuerySet[Metric]:
    return Metric.objects.all()


def metric_get(*, name: str) -> Metric:
    """The metric called ``name``; :class:`UnknownMetric` (400, field ``metric``) otherwise."""
    metric = Metric.objects.filter(name=name).first()
    if metric is None:
        raise UnknownMetric(f"unknown metric {name!r}", fields={"metric": "unknown metric"})
    return metric


def node_get(*, slug: str, allowed_spacecraft_ids: frozenset[int] | None = None) -> Spacecraft:
    """The spacecraft whose telemetry is asked for (inactive ones too: their history stays
    readable). A spacecraft outside the caller's restriction is as unknown as one that does
    not exist (400, field ``node``), so a restricted token cannot probe for other slugs."""
    nodes = Spacecraft.objects.filter(slug=slug)
    nodes = only_allowed(nodes, allowed_spacecraft_ids=allowed_spacecraft_ids, field="pk")
    node = nodes.first()
    if node is None:
        raise InvalidTelemetry(
            f"unknown spacecraft {slug!r}", fields={"node": "unknown spacecraft"}
        )
    return node


def latest_for_nodes(
    *, nodes: Sequence[Spacecraft], metrics: Sequence[Metric]
) -> dict[int, dict[str, LatestValue]]:
    """The newest value of each of ``metrics`` for each of ``nodes``, by node id then
    metric name (absent: never reported). One query per metric, whatever the fleet's size
    (the console's fleet page)."""
    node_ids = [n.pk for n in nodes]
    out: dict[int, dict[str, LatestValue]] = {}
    if not node_ids:
        return out
    store = get_store()
    for metric in metrics:
        for value in store.latest_for_metric(metric_id=metric.pk, node_ids=node_ids):
            out.setdefault(value.node_id, {})[metric.name] = value
    return out
