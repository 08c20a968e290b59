from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from telemetry import registry
from tests.factories import make_spacecraft
from tests.telemetry.mqtt_support import (  # noqa: F401 (MQTT fixtures for the test_mqtt_* modules)
    broker,
    no_samples,
    publisher,
    scope,
    start_bridge,
)


@pytest.fixture(autouse=True)
def _fresh_registry_cache() -> Iterator[None]:
    registry.clear_caches()
    yield
    registry.clear_caches()


@pytest.fixture
def nodes(db: Any) -> list[Any]:
    return [make_spacecraft(f"leo-{i:03d}") for i in (1, 2, 3)]


@pytest.fixture
def ingest_client(client_with_token: Callable[..., APIClient], nodes: list[Any]) -> APIClient:
    return client_with_token("ingest")


def sample_count(node: str | None = None) -> int:
    with connection.cursor() as cursor:
        if node is None:
            cursor.execute("SELECT count(*) FROM telemetry_sample")
        else:
            cursor.execute(
                "SELECT count(*) FROM telemetry_sample s JOIN fleet_spacecraft c "
                "ON c.id = s.node_id WHERE c.slug = %s",
                [node],
            )
        return int(cursor.fetchone()[0])
