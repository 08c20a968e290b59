"""Limits without Django: rule checks, breach levels (vectorised with numpy), counter
increases (reset-aware, as telemetry's rollups), and the per-(rule, node) state machine
that turns a series of breach levels into occurrences (hold-for, hysteresis, severity
raised within one occurrence).

Levels are ranked 1..5 (watch .. severe); 0 is "no breach". A value breaches a level when it
is below its ``low`` or above its ``high``; the worst breached level is the sample's rank.
A sample is "clear" when it lies within ``clear_low``..``clear_high`` (the hysteresis
band, by default the loosest level's bounds): an occurrence ends only on a clear sample,
so a noisy signal hovering around a limit stays one occurrence.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

SEVERITIES = ("watch", "warning", "distress", "critical", "severe")
RANK = {name: rank for rank, name in enumerate(SEVERITIES, start=1)}
VALUE_CONDITIONS = ("above", "below", "outside")
RATE_CONDITIONS = ("counter_rate_above", "rate_of_change")
CONDITIONS = (*VALUE_CONDITIONS, *RATE_CONDITIONS, "no_data")
_METRIC_GLOB = re.compile(r"^[a-z0-9_*?\[\]]{1,128}$")
_INF = math.inf

Floats = npt.NDArray[np.float64]


def severity_name(rank: int) -> str:
    return SEVERITIES[rank - 1]


def metric_matches(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def check_rule(
    *,
    metric: str,
    condition: str,
    levels: Any,
    clear_low: float | None,
    clear_high: float | None,
    hold_s: float,
    hold_samples: int,
    no_data_s: float | None,
) -> dict[str, str]:
    """Every problem with a rule's limits, by field (``levels[1].high``); empty if none."""
    errors: dict[str, str] = {}
    if not _METRIC_GLOB.match(metric or ""):
        errors["metric"] = "a metric name or glob: lowercase letters, digits, _ * ? [ ]"
    if condition not in CONDITIONS:
        errors["condition"] = f"must be one of {', '.join(CONDITIONS)}"
        return errors
    if not (isinstance(hold_s, int | float) and 0 <= hold_s <= 7 * 86400):
        errors["hold_s"] = "must be between 0 and 604800 seconds"
    if not (isinstance(hold_samples, int) and 1 <= hold_samples <= 10_000):
        errors["hold_samples"] = "must be between 1 and 10000"
    if condition == "no_data":
        if no_data_s is None or not (1 <= no_data_s <= 30 * 86400):
            errors["no_data_s"] = "no_data rules need the silence allowed, 1 s to 30 days"
        if levels:
            errors["levels"] = "no_data rules take a severity, not levels"
        return errors
    if not isinstance(levels, list) or not levels:
        errors["levels"] = 'a non-empty list of {"severity", "low"?, "high"?}'
        return errors
    seen: set[str] = set()
    wants_low = condition in ("below", "outside", "rate_of_change")
    wants_high = condition in ("above", "outside", "counter_rate_above", "rate_of_change")
    parsed: list[tuple[int, float | None, float | None]] = []
    for i, level in enumerate(levels):
        where = f"levels[{i}]"
        if not isinstance(level, Mapping):
            errors[where] = 'must be an object {"severity", "low"?, "high"?}'
            continue
        unknown = set(level) - {"severity", "low", "high"}
        if unknown:
            errors[f"{where}.{sorted(unknown)[0]}"] = "unknown field"
        severity = level.get("severity")
        if severity not in RANK:
            errors[f"{where}.severity"] = f"must be one of {', '.join(SEVERITIES)}"
            continue
        if severity in seen:
            errors[f"{where}.severity"] = f"{severity} is listed twice"
        seen.add(severity)
        low = _number(level.get("low")) if level.get("low") is not None else None
        high = _number(level.get("high")) if level.get("high") is not None else None
        if level.get("low") is not None and low is None:
            errors[f"{where}.low"] = "must be a finite number"
        if level.get("high") is not None and high is None:
            errors[f"{where}.high"] = "must be a finite number"
        if low is not None and not wants_low:
            errors[f"{where}.low"] = f"'{condition}' rules take only high"
        if high is not None and not wants_high:
            errors[f"{where}.high"] = f"'{condition}' rules take only low"
        if condition == "outside" or condition == "rate_of_change":
            if low is None and high is None:
                errors[where] = "needs low, high or both"
        elif wants_high and high is None and f"{where}.high" not in errors:
            errors[f"{where}.high"] = f"'{condition}' rules need high"
        elif wants_low and not wants_high and low is None and f"{where}.low" not in errors:
            errors[f"{where}.low"] = "'below' rules need low"
        if low is not None and high is not None and low >= high:
            errors[f"{where}.high"] = "must be above low"
        parsed.append((RANK[severity], low, high))
    if errors:
        return errors
    # A worse level must be further out than a milder one, or it could never be reached.
    ordered = sorted(parsed)
    for (_r1, lo1, hi1), (r2, lo2, hi2) in itertools.pairwise(ordered):
        name = f"levels[{[p[0] for p in parsed].index(r2)}]"
        if hi1 is not None and hi2 is not None and hi2 < hi1:
            errors[f"{name}.high"] = f"{severity_name(r2)} must be at or above {hi1}"
        if lo1 is not None and lo2 is not None and lo2 > lo1:
            errors[f"{name}.low"] = f"{severity_name(r2)} must be at or below {lo1}"
    compiled = compile_levels(levels, clear_low=None, clear_high=None)
    loosest_high = float(np.min(compiled.high))
    loosest_low = float(np.max(compiled.low))
    if clear_high is not None and (not math.isfinite(clear_high) or clear_high > loosest_high):
        errors["clear_high"] = f"must be at or below the lowest high limit ({loosest_high})"
    if clear_low is not None and (not math.isfinite(clear_low) or clear_low < loosest_low):
        errors["clear_low"] = f"must be at or above the highest low limit ({loosest_low})"
    return errors


@dataclass(frozen=True, slots=True)
class Levels:
    """Per rank 1..5 (index 0..4): breach above ``high`` / below ``low`` (±inf: none)."""

    high: Floats
    low: Floats
    clear_low: float
    clear_high: float


def compile_levels(
    levels: Sequence[Mapping[str, Any]], *, clear_low: float | None, clear_high: float | None
) -> Levels:
    high = np.full(5, _INF)
    low = np.full(5, -_INF)
    for level in levels:
        index = RANK[str(level["severity"])] - 1
        if level.get("high") is not None:
            high[index] = float(level["high"])
        if level.get("low") is not None:
            low[index] = float(level["low"])
    return Levels(
        high=high,
        low=low,
        clear_low=float(np.max(low)) if clear_low is None else float(clear_low),
        clear_high=float(np.min(high)) if clear_high is None else float(clear_high),
    )


def breach_ranks(values: Floats, high: Floats, low: Floats) -> npt.NDArray[np.int64]:
    """Rank (0..5) per row: ``values`` (N,), ``high``/``low`` (N, 5). NaN never breaches."""
    v = values[:, None]
    breached = (v > high) | (v < low)
    ranks = np.arange(1, 6, dtype=np.int64)
    return np.max(np.where(breached, ranks, 0), axis=1)


def clear_mask(values: Floats, clear_low: Floats, clear_high: Floats) -> npt.NDArray[np.bool_]:
    return (values >= clear_low) & (values <= clear_high)


def counter_increase(previous: Floats, value: Floats) -> Floats:
    """Telemetry's counter semantics: the delta, or the value itself after a reset."""
    return np.where(value >= previous, value - previous, value)


def series_rates(
    times_s: Floats,
    values: Floats,
    *,
    prev_time_s: float | None,
    prev_value: float | None,
    counter: bool,
) -> Floats:
    """Per-second rate of each sample against the one before it (NaN for the first when
    there is no earlier sample). ``times_s`` must be increasing."""
    t = np.concatenate(([np.nan if prev_time_s is None else prev_time_s], times_s))
    v = np.concatenate(([np.nan if prev_value is None else prev_value], values))
    dt = np.diff(t)
    dv = counter_increase(v[:-1], v[1:]) if counter else np.diff(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(dt > 0, dv / dt, np.nan)
    return rates


@dataclass(slots=True)
class Track:
    """The state of one rule on one node between samples."""

    pending_since: datetime | None = None
    pending_count: int = 0
    pending_level: int = 0
    active: bool = False
    level: int = 0

    @property
    def resting(self) -> bool:
        return self.pending_count == 0 and not self.active


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    rank: int
    clear: bool
    value: float
    metric: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """``raise`` (started at ``at``), ``worse`` (severity raised) or ``clear``."""

    kind: str
    at: datetime
    level: int
    value: float
    metric: str


@dataclass(slots=True)
class Outcome:
    changes: list[Change] = field(default_factory=list)
    peak: dict[int, float] = field(default_factory=dict)


def run(track: Track, samples: Sequence[Sample], *, hold_s: float, hold_samples: int) -> Outcome:
    """Feed ``samples`` (time order) through ``track``; return what changed.

    An occurrence starts when a breach has lasted ``hold_samples`` samples and ``hold_s``
    seconds (its start is the first breaching sample); a worse breach while active raises
    its severity; a clear sample ends it. Samples between (breaching less, or in the
    hysteresis band) change nothing."""
    out = Outcome()
    hold = timedelta(seconds=hold_s)
    for sample in samples:
        if track.active:
            if sample.rank > track.level:
                track.level = sample.rank
                out.changes.append(
                    Change("worse", sample.at, sample.rank, sample.value, sample.metric)
                )
            elif sample.rank == 0 and sample.clear:
                track.active = False
                track.level = 0
                out.changes.append(Change("clear", sample.at, 0, sample.value, sample.metric))
            continue
        if sample.rank == 0:
            track.pending_since, track.pending_count, track.pending_level = None, 0, 0
            continue
        if track.pending_count == 0:
            track.pending_since = sample.at
        track.pending_count += 1
        track.pending_level = max(track.pending_level, sample.rank)
        assert track.pending_since is not None
        if track.pending_count >= hold_samples and sample.at - track.pending_since >= hold:
            track.active = True
            track.level = sample.rank
            out.changes.append(
                Change("raise", track.pending_since, sample.rank, sample.value, sample.metric)
            )
            track.pending_since, track.pending_count, track.pending_level = None, 0, 0
    return out
