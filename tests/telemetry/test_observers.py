"""The ingest observer hook: observers see exactly the rows an ingest stored, inside its
transaction, and an observer's failure fails the ingest with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from telemetry import observers, services
from telemetry.exceptions import InvalidTelemetry
from telemetry.ingest import Samples
from tests.telemetry.conftest import sample_count

pytestmark = pytest.mark.django_db(transaction=True)

T0 = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)


def samples(node: str, seconds: list[int], metric: str = "gpu_temp_c") -> Samples:
    return Samples(
        nodes=[node] * len(seconds),
        times=[T0 + timedelta(seconds=s) for s in seconds],
        metrics=[{metric: float(s)} for s in seconds],
        where=[f"samples[{i}]" for i in range(len(seconds))],
    )


@pytest.fixture
def seen() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def observe(ingested: observers.Ingested) -> None:
        rows = ingested.batch
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM telemetry_sample")
            visible = int(cursor.fetchone()[0])
        calls.append(
            {
                "in_transaction": connection.in_atomic_block,
                "visible": visible,
                "values": sorted(rows.values),
                "nodes": {ingested.node_slugs[n] for n in rows.node_ids},
                "metrics": {ingested.metric_names[m] for m in rows.metric_ids},
            }
        )

    observers.register_ingest_observer("test", observe)
    yield calls
    observers.unregister_ingest_observer("test")


def test_an_observer_sees_the_new_rows_inside_the_transaction(
    nodes: list[Any], seen: list[dict[str, Any]]
) -> None:
    services.telemetry_ingest(samples=samples("leo-001", [1, 2, 3]))
    assert seen == [
        {
            "in_transaction": True,
            "visible": 3,
            "values": [1.0, 2.0, 3.0],
            "nodes": {"leo-001"},
            "metrics": {"gpu_temp_c"},
        }
    ]


def test_a_replay_is_not_observed_again_and_an_overlap_shows_only_its_new_rows(
    nodes: list[Any], seen: list[dict[str, Any]]
) -> None:
    services.telemetry_ingest(samples=samples("leo-001", [1, 2, 3]))
    replay = services.telemetry_ingest(samples=samples("leo-001", [1, 2, 3]))
    assert replay.written == 0 and len(seen) == 1
    overlap = services.telemetry_ingest(samples=samples("leo-001", [2, 3, 4, 5]))
    assert overlap.written == 2 and overlap.duplicates == 2
    assert seen[-1]["values"] == [4.0, 5.0]


def test_an_observer_that_fails_fails_the_ingest_and_nothing_is_stored(
    nodes: list[Any],
) -> None:
    def refuse(ingested: observers.Ingested) -> None:
        raise InvalidTelemetry("refused by the observer", fields={"samples": "no"})

    observers.register_ingest_observer("refuse", refuse)
    try:
        with pytest.raises(InvalidTelemetry):
            services.telemetry_ingest(samples=samples("leo-002", [1, 2]))
    finally:
        observers.unregister_ingest_observer("refuse")
    assert sample_count("leo-002") == 0
    services.telemetry_ingest(samples=samples("leo-002", [1, 2]))
    assert sample_count("leo-002") == 2
