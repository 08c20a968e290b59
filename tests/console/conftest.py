from __future__ import annotations

from collections.abc import Iterator

import pytest

from telemetry import registry


@pytest.fixture(autouse=True)
def _fresh_telemetry_registry() -> Iterator[None]:
    # The ingest caches node ids by slug; tests recreate nodes under the same slugs.
    registry.clear_caches()
    yield
    registry.clear_caches()
