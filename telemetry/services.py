"""Telemetry writes: ingest, rollup and retention. Keyword-only, typed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from telemetry import live, observers, registry
from telemetry.exceptions import InvalidTelemetry, NodeNotAllowed, UnknownMetric, UnknownNode
from telemetry.ingest import Samples, Window, check_window
from telemetry.models import RollupState
from telemetry.sinks import mirror_after_commit
from telemetry.stores import Batch, get_store

log = logging.getLogger(__name__)
_TRANSIENT = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_TRANSIENT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class IngestResult:
    written: int
    duplicates: int
    samples: int
    nodes: int


def ingest_window(*, now: datetime) -> Window:
    return Window(
        oldest=now - timedelta(days=settings.TELEMETRY_MAX_AGE_DAYS),
        newest=now + timedelta(seconds=settings.TELEMETRY_MAX_FUTURE_S),
    )


def _resolve(
    samples: Samples, *, allowed_spacecraft_ids: frozenset[int] | None
) -> tuple[Batch, dict[str, int], dict[str, int]]:
    node_map = registry.node_ids(samples.nodes)
    if allowed_spacecraft_ids is not None:
        # Checked before existence, so a restricted token cannot probe for other slugs.
        refused = sorted(
            {n for n in samples.nodes if node_map.get(n) not in allowed_spacecraft_ids}
        )
        if refused:
            raise NodeNotAllowed(
                f"this token may not write telemetry for {', '.join(refused)}",
                fields={"node": f"not allowed: {', '.join(refused)}"},
            )
    unknown: dict[str, str] = {}
    for where, node in zip(samples.where, samples.nodes, strict=True):
        if node not in node_map and len(unknown) < 20:
            unknown[f"{where}.node"] = f"unknown spacecraft {node!r}"
    if unknown:
        raise UnknownNode(next(iter(unknown.values())), fields=unknown)
    names = {name for metrics in samples.metrics for name in metrics}
    metric_map, refused_metrics = registry.metric_ids(
        names, register=settings.TELEMETRY_UNKNOWN_METRICS == "register"
    )
    if refused_metrics:
        fields: dict[str, str] = {}
        for where, metrics in zip(samples.where, samples.metrics, strict=True):
            for name in metrics:
                if name in refused_metrics and len(fields) < 20:
                    fields[f"{where}.metrics.{name}"] = (
                        "not a valid metric name (lowercase, digits, underscores)"
                        if not registry.METRIC_NAME.match(name)
                        else "unknown metric (register it first)"
                    )
        raise UnknownMetric(
            f"unknown or invalid metrics: {', '.join(refused_metrics)}", fields=fields
        )

    batch = Batch()
    times, node_ids, metric_ids, values = (
        batch.times,
        batch.node_ids,
        batch.metric_ids,
        batch.values,
    )
    touched = batch.touched
    metric_id = metric_map.__getitem__
    for node, ts, metrics in zip(samples.nodes, samples.times, samples.metrics, strict=True):
        node_id = node_map[node]
        touched.add((node_id, ts.replace(second=0, microsecond=0)))
        count = len(metrics)
        times.extend([ts] * count)
        node_ids.extend([node_id] * count)
        metric_ids.extend(map(metric_id, metrics))
        values.extend(metrics.values())
    return batch, node_map, metric_map


def telemetry_ingest(
    *,
    samples: Samples,
    allowed_spacecraft_ids: frozenset[int] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Validate against the registry and the time window, then write all or nothing.

    Inside the transaction, after the write, the ingest observers (``observers``: alert
    rules) see the rows it stored. After the commit the newest values go to the live
    channel groups (and the InfluxDB mirror when configured); a rolled-back batch
    publishes nothing.
    """
    check_window(samples, ingest_window(now=now or timezone.now()))
    for attempt in range(_TRANSIENT_RETRIES + 1):
        try:
            with transaction.atomic():
                batch, node_map, metric_map = _resolve(
                    samples, allowed_spacecraft_ids=allowed_spacecraft_ids
                )
                if len(batch) == 0:
                    raise InvalidTelemetry("no points", fields={"samples": "must not be empty"})
                result = get_store().write(batch)
                if result.written and observers.ingest_observers():
                    observers.notify(
                        observers.Ingested(
                            batch=result.new_rows(batch),
                            node_slugs={pk: slug for slug, pk in node_map.items()},
                            metric_names={pk: name for name, pk in metric_map.items()},
                            received_at=now or timezone.now(),
                        )
                    )
                transaction.on_commit(lambda: live.publish_samples(samples))
                mirror_after_commit(samples)
            break
        except _TRANSIENT as exc:
            # Two replays overlapping in opposite orders can deadlock on the unique
            # index; PostgreSQL aborts one, and the whole batch is simply retried.
            if attempt == _TRANSIENT_RETRIES or transaction.get_connection().in_atomic_block:
                raise
            log.info("ingest retried after %s", type(exc).__name__)
    return IngestResult(
        written=result.written,
        duplicates=result.duplicates,
        samples=len(samples.nodes),
        nodes=len(set(samples.nodes)),
    )


def telemetry_rollup(*, max_buckets: int = 20_000, rounds: int = 50) -> dict[str, int]:
    """Bring the 1 min / 1 h rollups up to date with every sample written so far."""
    store = get_store()
    totals = {"minutes": 0, "rollup_1m_rows": 0, "rollup_1h_rows": 0}
    for _ in range(rounds):
        done = store.rollup(max_buckets=max_buckets)
        for key, value in done.items():
            totals[key] = totals.get(key, 0) + value
        if done.get("minutes", 0) < max_buckets:
            break
    RollupState.objects.update_or_create(
        name="rollup", defaults={"last_run_at": timezone.now(), "last_detail": totals}
    )
    return totals


def telemetry_apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Drop raw samples past their retention; rollups are kept longer (1 h ones forever)."""
    now = now or timezone.now()
    telemetry_rollup()  # whatever is about to be dropped must be in the rollups first
    detail = get_store().apply_retention(
        raw_older_than=now - timedelta(days=settings.TELEMETRY_RAW_RETENTION_DAYS),
        rollup_1m_older_than=now - timedelta(days=settings.TELEMETRY_ROLLUP_1M_RETENTION_DAYS),
    )
    RollupState.objects.update_or_create(
        name="retention", defaults={"last_run_at": now, "last_detail": detail}
    )
    return detail
