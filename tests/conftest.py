from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from ops.fleet import tokencache
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    tokencache.clear()
    yield
    tokencache.clear()


@pytest.fixture(autouse=True)
def _empty_series_after_transactional_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests commit; Django's flush empties model tables only, so the
    time-series tables (raw SQL) are emptied here to keep tests independent."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not transactional:
        return
    from django.db import connection

    from telemetry.stores import schema

    tables = [schema.RAW_TABLE, schema.ROLLUP_1M, schema.ROLLUP_1H, schema.DIRTY_TABLE]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What a test registers in ``zenith.registry`` (and the beat schedule) is gone after it.

    Apps never unregister, so the registry has no removal API; rather than add one only for
    tests, each table is swapped for a copy that monkeypatch puts back afterwards."""
    from zenith import registry
    from zenith.celery import app

    tables = registry._registry
    for name in ("health", "periodic", "live", "sections"):
        monkeypatch.setattr(tables, name, dict(getattr(tables, name)))
    monkeypatch.setattr(tables, "websocket", list(tables.websocket))
    # Celery reads CELERY_BEAT_SCHEDULE before any override set on app.conf: restore the
    # dict itself.
    schedule = app.conf.beat_schedule
    before = dict(schedule)
    yield
    schedule.clear()
    schedule.update(before)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_with_token(db: Any) -> Callable[..., APIClient]:
    """``client_with_token("schedule")``: an API client carrying a fresh token."""
    counter = {"n": 0}

    def build(*scopes: str, **kwargs: Any) -> APIClient:
        counter["n"] += 1
        secret = factories.make_token(*scopes, name=f"t{counter['n']}", **kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return build


@pytest.fixture
def admin_api(client_with_token: Callable[..., APIClient]) -> APIClient:
    return client_with_token("admin")


def pytest_configure(config: Any) -> None:
    # The suite runs against the real services (README: make test): nothing is skipped for
    # want of them, so a run without them stops here instead of passing vacuously.
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError("tests need DATABASE_URL=postgres://... (run: make test)")
    if not os.environ.get("REDIS_URL"):
        raise pytest.UsageError("tests need REDIS_URL=redis://... (run: make test)")


def pytest_report_header(config: Any) -> list[str]:
    return [
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '(embedded sqlite)')}",
        f"REDIS_URL={os.environ.get('REDIS_URL', '(in-memory)')}",
    ]
