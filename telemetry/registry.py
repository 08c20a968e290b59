"""Node and metric lookups for the ingest hot path, cached per process.

Only positive answers are cached (a node or metric, once known, keeps its id); a miss
always asks the database, so a spacecraft added a moment ago is accepted at once.
Entries expire after a minute so deactivated spacecraft stop being accepted.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from ops.fleet.models import Spacecraft
from telemetry.models import METRIC_NAME_RE, Metric, MetricKind

_TTL_S = 60.0
METRIC_NAME = re.compile(METRIC_NAME_RE)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, int] = {}
        self.loaded_at = 0.0

    def fresh(self) -> dict[str, int]:
        if time.monotonic() - self.loaded_at > _TTL_S:
            with self.lock:
                self.items = {}
                self.loaded_at = time.monotonic()
        return self.items


_nodes = _Cache()
_metrics = _Cache()


def clear_caches() -> None:
    for cache in (_nodes, _metrics):
        with cache.lock:
            cache.items = {}
            cache.loaded_at = 0.0


def node_ids(slugs: Iterable[str]) -> dict[str, int]:
    """Active spacecraft ids by slug; unknown or inactive slugs are absent from the result."""
    cache = _nodes.fresh()
    wanted = set(slugs)
    missing = [s for s in wanted if s not in cache]
    if missing:
        found = dict(
            Spacecraft.objects.filter(slug__in=missing, active=True).values_list("slug", "id")
        )
        with _nodes.lock:
            cache.update(found)
    return {s: cache[s] for s in wanted if s in cache}


def metric_ids(names: Iterable[str], *, register: bool) -> tuple[dict[str, int], list[str]]:
    """Metric ids by name, registering unknown ones when ``register``.

    Returns ``(ids, refused)``: names that are unknown (and not registered) or not valid
    metric names are in ``refused``; nothing is registered if any name is invalid.
    """
    cache = _metrics.fresh()
    wanted = set(names)
    missing = [n for n in wanted if n not in cache]
    refused: list[str] = []
    if missing:
        rows = Metric.objects.filter(name__in=missing).values_list("name", "id", "kind")
        found: dict[str, int] = {}
        for name, mid, _kind in rows:
            found[name] = mid
        new = [n for n in missing if n not in found]
        invalid = [n for n in new if not METRIC_NAME.match(n)]
        if invalid:
            refused.extend(sorted(invalid))
        elif new and register:
            found.update(_register(new))
        else:
            refused.extend(sorted(new))

        # Cache only after commit: a registration rolled back with a refused batch must
        # not leave an id behind that points at nothing.
        def remember(found: dict[str, int] = found) -> None:
            with _metrics.lock:
                cache.update(found)

        transaction.on_commit(remember)
        result = {n: cache[n] for n in wanted if n in cache}
        result.update(found)
        return result, refused
    return {n: cache[n] for n in wanted if n in cache}, refused


def _register(names: list[str]) -> dict[str, int]:
    created: dict[str, int] = {}
    for name in sorted(names):
        # Each in its own savepoint: a concurrent ingest may register the same name.
        try:
            with transaction.atomic():
                metric = Metric.objects.create(
                    name=name, kind=_guess_kind(name), auto_registered=True
                )
        except IntegrityError:
            metric = Metric.objects.get(name=name)
        created[name] = metric.pk
    return created


def _guess_kind(name: str) -> str:
    # Prometheus convention: cumulative counts end in _total.
    return MetricKind.COUNTER if name.endswith("_total") else MetricKind.GAUGE
