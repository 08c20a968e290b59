"""Limits on the ingest path: ``evaluate_ingest`` runs inside the ingest transaction
(``telemetry.observers``) with exactly the rows that ingest stored.

Fast path, for every batch: the batch's samples are joined to the rules that watch their
metric on their node (cached lookups, then numpy ``repeat``/fancy indexing), rates are
computed per series (reset-aware for counters, one indexed read for each series' previous
sample), and each (sample, rule) row gets its breach rank and "clear" flag in one
vectorised pass. Only (rule, node) pairs that breach in this batch, or were already busy
(pending a hold-for, or with an occurrence open), go on; in a healthy fleet that is none,
and the batch costs two small reads.

Slow path, per busy pair, under a row lock on its state (concurrent ingests of the same
node serialise here): samples older than the newest one evaluated before (a LOS backlog
dumped after AOS) are run through a fresh state machine of their own, so an occurrence
that began and ended out of sight is recorded with its own times as history; newer samples
continue the pair's live state. An occurrence that has already cleared by the time it is
recorded never pages as live: it is recorded as such and noticed per the rule's LOS policy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection

from ops.alerts import limits
from ops.alerts.models import SEVERITY_RANK, Alert, AlertState, RuleState, Source
from ops.alerts.selectors import series
from ops.alerts.services import joins, lifecycle
from ops.alerts.services.ruleset import (
    KIND_NO_DATA,
    Compiled,
    RuleSet,
    cached_ruleset,
    current_ruleset,
)
from telemetry.observers import Ingested

ACTOR = "rules"
_SHIFT = np.int64(32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
_NO_TIMES = np.zeros(0, dtype=np.float64)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Evaluated:
    rows: int  # (sample, rule) rows evaluated
    busy_pairs: int
    changes: int  # occurrences opened, worsened or cleared


def evaluate_ingest(*, ingested: Ingested) -> Evaluated:
    batch = ingested.batch
    if not batch.values:
        return Evaluated(0, 0, 0)
    node_ids = frozenset(ingested.node_slugs)
    # Optimistic: join with the cached rules, then read the version with everything else
    # in one round trip; a rule edit since (rare) means one more pass with the new rules.
    ruleset = cached_ruleset(version=None, node_ids=node_ids) or current_ruleset(node_ids=node_ids)
    for _attempt in range(3):
        joined = (
            joins.join(
                ruleset,
                metric_ids=batch.metric_ids,
                node_ids=batch.node_ids,
                values=batch.values,
                times=batch.times,
                metric_names=ingested.metric_names,
            )
            if ruleset.rules
            else None
        )
        rate_keys = joined.rate_keys if joined is not None else _NO_KEYS
        first_s = joined.rate_first_s if joined is not None else _NO_TIMES
        snap = series.snapshot(rate_keys, first_s)
        if snap.version == ruleset.version:
            break
        ruleset = current_ruleset(node_ids=node_ids, version=snap.version)
    if joined is None:
        return Evaluated(0, 0, 0)
    rows, metrics, sample_of, rule_of = (
        joined.rows,
        joined.metrics,
        joined.sample_of,
        joined.rule_of,
    )
    names = ingested.metric_names
    total = int(rule_of.size)
    value = joins.values_with_rates(joined, snap.prev_t, snap.prev_v)
    kind = joined.kind
    ranks = limits.breach_ranks(value, ruleset.high[rule_of], ruleset.low[rule_of])
    clears = limits.clear_mask(value, ruleset.clear_low[rule_of], ruleset.clear_high[rule_of])
    # no_data rules only ever clear on data; NaN rates (no previous sample) neither
    # breach nor clear.
    clears = np.where(kind == KIND_NO_DATA, True, clears & ~np.isnan(value))

    pair_nodes = joined.nodes[sample_of]
    pair_keys = (ruleset.rule_ids[rule_of] << _SHIFT) | pair_nodes
    hot = ranks > 0
    if snap.busy.size:
        hot |= np.isin(pair_keys, snap.busy)
    if not hot.any():
        return Evaluated(total, 0, 0)

    # Slow path: the few pairs with something to do, with all their rows of the batch.
    hot_rows = np.flatnonzero(np.isin(pair_keys, np.unique(pair_keys[hot])))
    by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r in hot_rows.tolist():
        by_pair[(int(rule_of[r]), int(pair_nodes[r]))].append(r)
    states = _lock_states([(ruleset.rules[i].rule.pk, n) for i, n in by_pair])
    changes = 0
    for (index, node_id), pair_rows in sorted(by_pair.items()):
        compiled = ruleset.rules[index]
        samples = _collapse(
            [
                limits.Sample(
                    at=batch.times[int(rows[sample_of[r]])],
                    rank=int(ranks[r]),
                    clear=bool(clears[r]),
                    value=float(value[r]),
                    metric=names[int(metrics[sample_of[r]])],
                )
                for r in pair_rows
            ]
        )
        state = states[(compiled.rule.pk, node_id)]
        changes += _evaluate_pair(
            compiled,
            state,
            samples,
            node_slug=ingested.node_slugs.get(node_id, str(node_id)),
            metric_ids=sorted({int(metrics[sample_of[r]]) for r in pair_rows}),
            now=ingested.received_at,
        )
    return Evaluated(total, len(by_pair), changes)


def _lock_states(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], RuleState]:
    """Create missing state rows, then lock them all in one order (no deadlocks)."""
    ordered = sorted(set(pairs))
    rule_ids = [r for r, _ in ordered]
    node_ids = [n for _, n in ordered]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO alerts_rulestate (rule_id, spacecraft_id, pending_count, pending_level) "
            "SELECT * , 0, 0 FROM unnest(%s::int8[], %s::int8[]) "
            "ON CONFLICT (rule_id, spacecraft_id) DO NOTHING",
            [rule_ids, node_ids],
        )
    found: dict[tuple[int, int], RuleState] = {}
    query = (
        RuleState.objects.select_for_update(of=("self",))
        .select_related("alert")
        .filter(rule_id__in=set(rule_ids), spacecraft_id__in=set(node_ids))
        .order_by("rule_id", "spacecraft_id")
    )
    for state in query:
        found[(state.rule_id, state.spacecraft_id)] = state
    return found


def _collapse(samples: list[limits.Sample]) -> list[limits.Sample]:
    """One sample per time (a glob rule sees several metrics at once): the worst rank, and
    clear only if every one of them is."""
    by_time: dict[datetime, limits.Sample] = {}
    for s in samples:
        seen = by_time.get(s.at)
        if seen is None:
            by_time[s.at] = s
            continue
        worst = s if s.rank > seen.rank else seen
        by_time[s.at] = limits.Sample(
            s.at, worst.rank, seen.clear and s.clear, worst.value, worst.metric
        )
    return [by_time[t] for t in sorted(by_time)]


def _evaluate_pair(
    compiled: Compiled,
    state: RuleState,
    samples: list[limits.Sample],
    *,
    node_slug: str,
    metric_ids: list[int],
    now: datetime,
) -> int:
    rule = compiled.rule
    alert = state.alert
    busy = state.pending_count > 0 or alert is not None
    seen_until: datetime | None
    if busy and state.evaluated_until is not None:
        seen_until = state.evaluated_until
    else:
        seen_until = series.newest_stored_before(state.spacecraft_id, metric_ids, samples)
    old = [s for s in samples if seen_until is not None and s.at < seen_until]
    new = samples[len(old) :] if old else samples
    changes = 0
    if old:
        changes += _backlog(
            compiled,
            state,
            old,
            node_slug=node_slug,
            metric_ids=metric_ids,
            seen_until=seen_until,
            now=now,
        )
        alert = state.alert
    track = limits.Track(
        pending_since=state.pending_since,
        pending_count=state.pending_count,
        pending_level=state.pending_level,
        active=bool(alert is not None and alert.active),
        level=SEVERITY_RANK[alert.severity] if alert is not None and alert.active else 0,
    )
    outcome = limits.run(track, new, hold_s=rule.hold_s, hold_samples=rule.hold_samples)
    opened: limits.Change | None = None
    worst = 0
    for change in outcome.changes:
        changes += 1
        severity = limits.severity_name(change.level) if change.level else rule.severity
        if change.kind == "raise":
            opened, worst = change, change.level
        elif change.kind == "worse" and opened is not None:
            worst = max(worst, change.level)
        elif change.kind == "worse" and alert is not None:
            lifecycle.alert_worsen(
                alert=alert,
                severity=severity,
                value=change.value,
                at=change.at,
                actor=ACTOR,
                now=now,
                summary=_summary(rule, change, node_slug, severity),
            )
        elif change.kind == "clear" and opened is not None:
            # Began and ended in this batch: already over when we learnt of it.
            alert = _open(compiled, state, opened, worst, node_slug, now, cleared=change)
            opened = None
            if not rule.latching:
                alert = None
        elif change.kind == "clear" and alert is not None:
            lifecycle.alert_clear(
                alert=alert, at=change.at, value=change.value, actor=ACTOR, now=now
            )
            if not rule.latching:
                alert = None
    if opened is not None:
        if alert is not None and alert.state == AlertState.LATCHED:
            alert = lifecycle.alert_reactivate(
                alert=alert,
                severity=limits.severity_name(worst),
                value=opened.value,
                at=opened.at,
                actor=ACTOR,
                now=now,
            )
        else:
            alert = _open(compiled, state, opened, worst, node_slug, now, cleared=None)
    state.pending_since = track.pending_since
    state.pending_count = track.pending_count
    state.pending_level = track.pending_level
    state.alert = alert
    newest = samples[-1].at
    if state.evaluated_until is None or newest > state.evaluated_until:
        state.evaluated_until = newest
    state.save()
    return changes


def _open(
    compiled: Compiled,
    state: RuleState,
    opened: limits.Change,
    worst: int,
    node_slug: str,
    now: datetime,
    *,
    cleared: limits.Change | None,
) -> Alert:
    rule = compiled.rule
    severity = limits.severity_name(max(worst, opened.level))
    summary = _summary(rule, opened, node_slug, severity)
    if cleared is not None:
        summary += ": happened during LOS, already cleared"
    return lifecycle.alert_open(
        opening=lifecycle.Opening(
            source=Source.RULE,
            severity=severity,
            summary=summary,
            started_at=opened.at,
            spacecraft_id=state.spacecraft_id,
            rule=rule,
            metric=opened.metric,
            value=opened.value,
            details=_details(rule, opened),
            cleared_at=cleared.at if cleared is not None else None,
        ),
        actor=ACTOR,
        now=now,
    )


def _summary(rule: Any, change: limits.Change, node_slug: str, severity: str) -> str:
    what = f"{change.metric} {change.value:.6g}" if change.metric else "no data"
    return f"{rule.name}: {what} on {node_slug} ({severity})"


def _details(rule: Any, change: limits.Change) -> dict[str, Any]:
    return {"condition": rule.condition, "levels": rule.levels, "first_value": change.value}


def _backlog(
    compiled: Compiled,
    state: RuleState,
    old: list[limits.Sample],
    *,
    node_slug: str,
    metric_ids: list[int],
    seen_until: datetime | None,
    now: datetime,
) -> int:
    """Samples older than what was already evaluated, run on a state machine of their own.
    Occurrences that ended inside them are history; one still open at their end either
    is the live occurrence (which then started earlier) or ended before the next sample."""
    rule = compiled.rule
    track = limits.Track()
    outcome = limits.run(track, old, hold_s=rule.hold_s, hold_samples=rule.hold_samples)
    opened: limits.Change | None = None
    worst = 0
    count = 0
    for change in outcome.changes:
        if change.kind == "raise":
            opened, worst = change, change.level
        elif change.kind == "worse":
            worst = max(worst, change.level)
        elif change.kind == "clear" and opened is not None:
            _open(compiled, state, opened, worst, node_slug, now, cleared=change)
            count += 1
            opened = None
    if opened is None:
        return count
    live = state.alert
    if live is not None and live.active:
        if opened.at < live.started_at:
            before = live.started_at
            live.started_at = opened.at
            live.updated_at = now
            live.save(update_fields=["started_at", "updated_at"])
            lifecycle.audit_record(
                at=now,
                actor=ACTOR,
                action="alert.started_earlier",
                alert=live,
                detail={"from": before.isoformat(), "to": opened.at.isoformat()},
            )
        return count
    ended_at = series.next_stored_after(state.spacecraft_id, metric_ids, old[-1].at) or seen_until
    assert ended_at is not None
    _open(
        compiled,
        state,
        opened,
        worst,
        node_slug,
        now,
        cleared=limits.Change("clear", ended_at, 0, opened.value, opened.metric),
    )
    return count + 1


def evaluation_ruleset() -> RuleSet:
    """The compiled rules (for the bench and diagnostics)."""
    return current_ruleset()
