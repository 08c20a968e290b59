from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.alerts.services import ruleset
from telemetry import registry


@pytest.fixture(autouse=True)
def _fresh_telemetry_registry() -> Iterator[None]:
    # The ingest caches node ids by slug; tests recreate nodes under the same slugs.
    # Compiled alert rules are cached per process too (tests/alerts does the same).
    registry.clear_caches()
    ruleset.forget()
    yield
    registry.clear_caches()
    ruleset.forget()
