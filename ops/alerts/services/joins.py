"""Joining an ingest batch to the compiled rules, in numpy (no database, no Django).

Every (watched sample, applicable rule) pair becomes one row: its sample, its rule, its
value (or, for rate rules, the per-second rate of its series). Rates need each series'
sample before the batch; ``Joined.rate_keys``/``rate_first_s`` say which, the caller
fetches them (in the same round trip as its other reads) and ``values_with_rates`` fills
them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from ops.alerts import limits
from ops.alerts.services.ruleset import KIND_COUNTER_RATE, KIND_RATE, RuleSet

SHIFT = np.int64(32)
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Joined:
    rows: Ints  # batch index of each watched sample
    metrics: Ints  # per watched sample
    nodes: Ints
    values: Floats
    keys: Ints  # (metric << 32) | node, per watched sample
    sample_of: Ints  # per (sample, rule) row: the watched sample
    rule_of: Ints  # per row: the rule's index in the rule set
    kind: Ints  # per row
    rate_samples: Ints  # watched samples some rate rule needs, in series/time order
    rate_times_s: Floats
    rate_first: npt.NDArray[np.bool_]  # first of its series in the batch

    @property
    def rate_keys(self) -> Ints:
        return self.keys[self.rate_samples][self.rate_first]

    @property
    def rate_first_s(self) -> Floats:
        return self.rate_times_s[self.rate_first]


def join(
    ruleset: RuleSet,
    *,
    metric_ids: list[int],
    node_ids: list[int],
    values: list[float],
    times: list[datetime],
    metric_names: dict[int, str],
) -> Joined | None:
    """The batch joined to ``ruleset``; ``None`` when no rule watches any of it."""
    watched = [mid for mid, name in metric_names.items() if ruleset.for_metric(name)]
    if not watched:
        return None
    metric_all = np.fromiter(metric_ids, dtype=np.int64, count=len(metric_ids))
    rows = np.flatnonzero(np.isin(metric_all, watched))
    if rows.size == 0:
        return None
    metrics = metric_all[rows]
    nodes = np.fromiter(node_ids, dtype=np.int64, count=len(node_ids))[rows]
    vals = np.fromiter(values, dtype=np.float64, count=len(values))[rows]
    keys = (metrics << SHIFT) | nodes
    unique, inverse = np.unique(keys, return_inverse=True)
    flat, lens = ruleset.join(unique, metric_names)
    per_row = lens[inverse]
    total = int(per_row.sum())
    if total == 0:
        return None
    starts = np.cumsum(lens) - lens
    sample_of = np.repeat(np.arange(rows.size), per_row)
    offset = np.arange(total) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    rule_of = flat[np.repeat(starts[inverse], per_row) + offset]
    kind = ruleset.kind[rule_of]
    rate_samples, rate_times, rate_first = _EMPTY_I, _EMPTY_F, np.zeros(0, dtype=bool)
    if ruleset.has_rates:
        rate_rows = (kind == KIND_COUNTER_RATE) | (kind == KIND_RATE)
        if rate_rows.any():
            needed = np.unique(sample_of[rate_rows])
            t = np.fromiter(
                (times[i].timestamp() for i in rows[needed].tolist()), np.float64, needed.size
            )
            order = np.lexsort((t, keys[needed]))
            rate_samples, rate_times = needed[order], t[order]
            k = keys[rate_samples]
            rate_first = np.ones(k.size, dtype=bool)
            rate_first[1:] = k[1:] != k[:-1]
    return Joined(
        rows,
        metrics,
        nodes,
        vals,
        keys,
        sample_of,
        rule_of,
        kind,
        rate_samples,
        rate_times,
        rate_first,
    )


def values_with_rates(joined: Joined, prev_t: Floats, prev_v: Floats) -> Floats:
    """Each row's value, rate rows replaced by their series' per-second rate against the
    previous sample (in the batch, or ``prev_t``/``prev_v`` stored before it: one per
    ``rate_keys`` entry, NaN when there was none)."""
    value = joined.values[joined.sample_of]
    if joined.rate_samples.size == 0:
        return value
    t = joined.rate_times_s
    v = joined.values[joined.rate_samples]
    before_t = np.empty_like(t)
    before_v = np.empty_like(v)
    before_t[1:], before_v[1:] = t[:-1], v[:-1]
    before_t[joined.rate_first], before_v[joined.rate_first] = prev_t, prev_v
    dt = t - before_t
    with np.errstate(divide="ignore", invalid="ignore"):
        counter = np.where(dt > 0, limits.counter_increase(before_v, v) / dt, np.nan)
        plain = np.where(dt > 0, (v - before_v) / dt, np.nan)
    by_sample_counter = np.full(joined.values.size, np.nan)
    by_sample_plain = np.full(joined.values.size, np.nan)
    by_sample_counter[joined.rate_samples] = counter
    by_sample_plain[joined.rate_samples] = plain
    is_counter = joined.kind == KIND_COUNTER_RATE
    is_rate = joined.kind == KIND_RATE
    value[is_counter] = by_sample_counter[joined.sample_of[is_counter]]
    value[is_rate] = by_sample_plain[joined.sample_of[is_rate]]
    return value
