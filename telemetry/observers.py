"""The ingest observer hook: how other apps see telemetry as it is written.

An observer registered here (``ops.alerts`` does, in its ``AppConfig.ready``) is called
inside the ingest transaction, after the samples are stored and before the commit, with
the rows that write actually stored (a replayed batch stores nothing and is not observed
again; an overlap shows only its new rows). Whatever the observer writes (alert state,
outbox rows) commits or rolls back with the samples: nothing is half-written. An observer
that raises fails the ingest (503 for a database error, like the write itself), so it must
be quick and must not call the network: it records, workers act.

Telemetry never imports its observers; they import this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telemetry.stores.base import Batch


@dataclass(frozen=True, slots=True)
class Ingested:
    """New rows of one ingest, in columns (``batch``), with the names behind the ids."""

    batch: Batch
    node_slugs: dict[int, str]
    metric_names: dict[int, str]
    received_at: datetime


Observer = Callable[[Ingested], None]

_observers: dict[str, Observer] = {}
_lock = threading.Lock()


def register_ingest_observer(name: str, observer: Observer) -> None:
    """Call ``observer`` for every ingest from now on (``name`` makes it idempotent)."""
    with _lock:
        _observers[name] = observer


def unregister_ingest_observer(name: str) -> None:
    with _lock:
        _observers.pop(name, None)


def ingest_observers() -> list[Observer]:
    with _lock:
        return list(_observers.values())


def notify(ingested: Ingested) -> None:
    """Run every observer in the caller's transaction (called by ``telemetry_ingest``)."""
    for observer in ingest_observers():
        observer(ingested)
