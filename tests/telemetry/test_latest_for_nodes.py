"""``latest_for_nodes``: the newest value of several metrics for many nodes, one query per
metric (the console's fleet page reads it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from telemetry import selectors, services
from telemetry.ingest import Samples
from telemetry.models import Metric
from telemetry.stores import get_store
from tests.factories import make_spacecraft

pytestmark = pytest.mark.django_db


def test_latest_for_nodes_reads_each_metric_once_for_the_whole_fleet(
    django_assert_num_queries: Any,
) -> None:
    nodes = [make_spacecraft(f"leo-{i:03d}") for i in range(1, 6)]
    now = timezone.now().replace(microsecond=0)
    samples = Samples()
    for i, node in enumerate(nodes[:4]):
        for back in (30, 10):
            samples.nodes.append(node.slug)
            samples.times.append(now - timedelta(seconds=back))
            samples.metrics.append({"battery_soc": 0.5 + i / 10 + back / 1000})
        samples.nodes.append(node.slug)
        samples.times.append(now - timedelta(seconds=20))
        samples.metrics.append({"gpu_temp_c": 60.0 + i})
    samples.where = [f"samples[{k}]" for k in range(len(samples.nodes))]
    services.telemetry_ingest(samples=samples, now=now)
    metrics = list(Metric.objects.filter(name__in=["battery_soc", "gpu_temp_c", "gpu_util"]))
    get_store()  # the store is picked once per process (one query the first time)
    with django_assert_num_queries(3):
        latest = selectors.latest_for_nodes(nodes=nodes, metrics=metrics)
    assert set(latest) == {n.pk for n in nodes[:4]}, "a node that never reported is absent"
    first = latest[nodes[0].pk]
    assert set(first) == {"battery_soc", "gpu_temp_c"}
    assert first["battery_soc"].value == pytest.approx(0.51)
    assert first["battery_soc"].time == now - timedelta(seconds=10)
    assert latest[nodes[3].pk]["gpu_temp_c"].value == 63.0
    assert selectors.latest_for_nodes(nodes=[], metrics=metrics) == {}
