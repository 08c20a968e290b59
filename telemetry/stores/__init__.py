"""Pick the store for the configured database: TimescaleDB, PostgreSQL or SQLite."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from telemetry.stores.base import (
    Batch,
    Bucket,
    LatestValue,
    RawPoint,
    TelemetryStore,
    WriteResult,
)

__all__ = [
    "Batch",
    "Bucket",
    "LatestValue",
    "RawPoint",
    "TelemetryStore",
    "WriteResult",
    "get_store",
]

_cache: dict[str, TelemetryStore] = {}


def get_store() -> TelemetryStore:
    key = f"{connection.vendor}:{connection.settings_dict.get('NAME')}"
    store = _cache.get(key)
    if store is None:
        if connection.vendor == "postgresql":
            from telemetry.stores.postgres import PostgresStore
            from telemetry.stores.schema import is_hypertable

            with connection.cursor() as cursor:
                # What the table is, not whether the extension exists: an extension
                # installed after the first migrate leaves a plain table.
                timescale = is_hypertable(cursor)
            store = PostgresStore(
                timescale=timescale, synchronous_commit=settings.TELEMETRY_SYNCHRONOUS_COMMIT
            )
        elif connection.vendor == "sqlite":
            from telemetry.stores.sqlite import SqliteStore

            store = SqliteStore()
        else:
            raise RuntimeError(f"no telemetry store for database vendor {connection.vendor!r}")
        _cache[key] = store
    return store
