"""Telemetry writes: ingest (one batch, or many independent ones in one transaction), rollup
and retention. Keyword-only, typed."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from telemetry import live, observers, registry
from telemetry.exceptions import (
    InvalidTelemetry,
    NodeNotAllowed,
    TelemetryError,
    UnknownMetric,
    UnknownNode,
)
from telemetry.ingest import Samples, Window, check_window
from telemetry.models import RollupState
from telemetry.sinks import mirror_after_commit
from telemetry.stores import Batch, get_store

log = logging.getLogger(__name__)
_TRANSIENT = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_TRANSIENT_RETRIES = 3
# The database is unreachable: nothing of the call was written, the caller retries it.
_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


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


@dataclass(slots=True)
class _Accepted:
    index: int
    samples: Samples
    batch: Batch
    node_map: dict[str, int]
    metric_map: dict[str, int]


def telemetry_ingest_many(
    *, batches: Sequence[Samples], now: datetime | None = None
) -> list[IngestResult | Exception]:
    """Several independent batches (MQTT messages, say) in one transaction: one commit for
    all, each batch still all or nothing and idempotent on its own.

    Returns one outcome per batch, in order: its ``IngestResult``, or the exception that
    refused it alone (a ``TelemetryError`` for invalid input; anything else a batch hit on
    its own, such as an observer failing on its rows). A refused batch writes nothing and
    never fails the others. What fails the whole call is raised and nothing is written:
    the database unavailable (``OperationalError``, ``InterfaceError``, psycopg's too),
    or a deadlock that persisted through the retries.

    The accepted batches go to the store as one write (one ``COPY`` on PostgreSQL), and the
    observers, the live topics and the mirror see them together. If that shared write
    fails for another reason, the batches are written again one by one, each in its own
    savepoint, so the one at fault is found and refused alone.
    """
    now = now or timezone.now()
    window = ingest_window(now=now)
    checked: list[IngestResult | Exception | None] = [None] * len(batches)
    for index, samples in enumerate(batches):
        try:
            check_window(samples, window)
        except TelemetryError as exc:
            checked[index] = exc
    for attempt in range(_TRANSIENT_RETRIES + 1):
        outcomes = list(checked)
        try:
            with transaction.atomic():
                accepted = _resolve_each(batches, outcomes)
                if accepted:
                    try:
                        with transaction.atomic():
                            _write_together(accepted, outcomes, now=now)
                    except _UNAVAILABLE + _TRANSIENT:
                        raise
                    except Exception:
                        log.warning(
                            "a shared write of %d batches failed; writing them one by one",
                            len(accepted),
                            exc_info=True,
                        )
                        for item in accepted:
                            try:
                                with transaction.atomic():
                                    _write_together([item], outcomes, now=now)
                            except _UNAVAILABLE + _TRANSIENT:
                                raise
                            except Exception as exc:
                                outcomes[item.index] = exc
            break
        except _TRANSIENT as exc:
            if attempt == _TRANSIENT_RETRIES or transaction.get_connection().in_atomic_block:
                raise
            log.info("batched ingest retried after %s", type(exc).__name__)
    return [outcome if outcome is not None else IngestResult(0, 0, 0, 0) for outcome in outcomes]


def _resolve_each(
    batches: Sequence[Samples], outcomes: list[IngestResult | Exception | None]
) -> list[_Accepted]:
    accepted: list[_Accepted] = []
    for index, samples in enumerate(batches):
        if outcomes[index] is not None:
            continue
        try:
            # No savepoint per batch (two round trips each, half the time of a 500-message
            # call): _resolve refuses before it writes anything. Its one write, registering
            # new metric names, comes after every check, each name in its own savepoint.
            batch, node_map, metric_map = _resolve(samples, allowed_spacecraft_ids=None)
            if len(batch) == 0:
                raise InvalidTelemetry("no points", fields={"samples": "must not be empty"})
        except TelemetryError as exc:
            outcomes[index] = exc
            continue
        accepted.append(_Accepted(index, samples, batch, node_map, metric_map))
    return accepted


def _write_together(
    accepted: list[_Accepted], outcomes: list[IngestResult | Exception | None], *, now: datetime
) -> None:
    merged = Batch()
    node_slugs: dict[int, str] = {}
    metric_names: dict[int, str] = {}
    samples = Samples()
    for item in accepted:
        merged.times += item.batch.times
        merged.node_ids += item.batch.node_ids
        merged.metric_ids += item.batch.metric_ids
        merged.values += item.batch.values
        merged.touched |= item.batch.touched
        node_slugs.update({pk: slug for slug, pk in item.node_map.items()})
        metric_names.update({pk: name for name, pk in item.metric_map.items()})
        samples.nodes += item.samples.nodes
        samples.times += item.samples.times
        samples.metrics += item.samples.metrics
        samples.where += item.samples.where
    result = get_store().write(merged)
    if result.written and observers.ingest_observers():
        observers.notify(
            observers.Ingested(
                batch=result.new_rows(merged),
                node_slugs=node_slugs,
                metric_names=metric_names,
                received_at=now,
            )
        )
    transaction.on_commit(lambda: live.publish_samples(samples))
    mirror_after_commit(samples)
    # Which batch each new row belongs to: every row is new unless some were there already;
    # then the new ones are matched back in order (a row sent twice is new only once).
    fresh = None if result.fresh is None else Counter(_keys(result.fresh))
    for item in accepted:
        total = len(item.batch)
        written = total
        if fresh is not None:
            written = 0
            for key in _keys(item.batch):
                if fresh[key] > 0:
                    fresh[key] -= 1
                    written += 1
        outcomes[item.index] = IngestResult(
            written=written,
            duplicates=total - written,
            samples=len(item.samples.nodes),
            nodes=len(set(item.samples.nodes)),
        )


def _keys(batch: Batch) -> zip[tuple[datetime, int, int]]:
    return zip(batch.times, batch.node_ids, batch.metric_ids, strict=True)


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
