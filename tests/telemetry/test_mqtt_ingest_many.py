"""``services.telemetry_ingest_many``, the MQTT bridge's write: several messages in one
transaction, each all or nothing, a poison one refused alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telemetry import observers, services
from telemetry.exceptions import InvalidTelemetry, UnknownMetric, UnknownNode
from telemetry.ingest import Samples
from telemetry.models import Metric
from telemetry.mqtt import parse_payload
from tests.telemetry.conftest import sample_count
from tests.telemetry.mqtt_support import NOW, json_batch

pytestmark = pytest.mark.django_db


def message(node: str, n: int = 2, *, minutes: int = 0, body: bytes | None = None) -> Samples:
    return parse_payload(
        body or json_batch(n, start=NOW + timedelta(minutes=minutes)),
        node=node,
        now=NOW,
        max_points=10_000,
        max_bytes=1_000_000,
    )


def test_each_message_stands_alone_in_one_transaction(nodes: list[Any]) -> None:
    first = message("leo-001")
    batches = [
        first,
        message("ghost-9"),  # unknown spacecraft
        message(
            "leo-002", body=b'{"samples": [{"ts": "2020-01-01T00:00:00Z", "metrics": {"x": 1}}]}'
        ),
        message("leo-003", body=b"node_health fresh_metric=1,Bad-Name=2"),  # invalid name
        first,  # a replay inside the same call: written once
        message("leo-002", 3, minutes=10),
    ]
    with CaptureQueriesContext(connection) as queries:
        outcomes = services.telemetry_ingest_many(batches=batches)
    assert isinstance(outcomes[0], services.IngestResult)
    assert (outcomes[0].written, outcomes[0].duplicates, outcomes[0].samples) == (4, 0, 2)
    assert isinstance(outcomes[1], UnknownNode)
    assert isinstance(outcomes[2], InvalidTelemetry) and "older than" in outcomes[2].detail
    assert isinstance(outcomes[3], UnknownMetric)
    assert isinstance(outcomes[4], services.IngestResult)
    assert (outcomes[4].written, outcomes[4].duplicates) == (0, 4)
    assert isinstance(outcomes[5], services.IngestResult) and outcomes[5].written == 6
    assert sample_count() == 10
    # A refused message registers nothing, not even its valid new name.
    assert not Metric.objects.filter(name="node_health_fresh_metric").exists()
    assert not Metric.objects.filter(name="fresh_metric").exists()
    # One shared write: a single COPY for the accepted messages.
    copies = [q for q in queries.captured_queries if q["sql"].startswith("COPY")]
    assert len(copies) <= 2  # the fast COPY, and the staging COPY of the replay


@pytest.fixture
def failing_observer() -> Iterator[list[set[str]]]:
    """An observer that fails on leo-003's rows (as a bug or a bad row could)."""
    seen: list[set[str]] = []

    def observe(ingested: observers.Ingested) -> None:
        slugs = {ingested.node_slugs[pk] for pk in ingested.batch.node_ids}
        if "leo-003" in slugs:
            raise ValueError("observer cannot handle leo-003")
        seen.append(slugs)

    observers.register_ingest_observer("test-failing", observe)
    yield seen
    observers.unregister_ingest_observer("test-failing")


def test_a_message_failing_at_write_fails_alone(
    nodes: list[Any], failing_observer: list[set[str]]
) -> None:
    outcomes = services.telemetry_ingest_many(
        batches=[message("leo-001"), message("leo-003"), message("leo-002")]
    )
    assert isinstance(outcomes[0], services.IngestResult) and outcomes[0].written == 4
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], services.IngestResult) and outcomes[2].written == 4
    assert sample_count("leo-001") == 4 and sample_count("leo-002") == 4
    assert sample_count("leo-003") == 0
    # The shared write was undone and each message written on its own.
    assert failing_observer == [{"leo-001"}, {"leo-002"}]


def test_nothing_to_write(nodes: list[Any]) -> None:
    assert services.telemetry_ingest_many(batches=[]) == []
    (outcome,) = services.telemetry_ingest_many(batches=[message("ghost-1")])
    assert isinstance(outcome, UnknownNode) and sample_count() == 0
