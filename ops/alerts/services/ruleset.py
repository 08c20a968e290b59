"""The compiled rule set the ingest path evaluates against, cached per process.

Compiled once per rule-set version (``RuleSetVersion``, bumped by every rule or tag
change; read once per ingest) and at most a minute old (so new spacecraft join role and
tag scopes): thresholds become numpy arrays indexed by rule, and "which rules apply to
this metric on this node" is a cached lookup, so an ingest batch joins its samples to
their rules with a handful of array operations, whatever the number of rules.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.db import connection

from ops.alerts import limits
from ops.alerts.models import Rule, SpacecraftTag
from ops.fleet.models import Spacecraft

KIND_VALUE, KIND_COUNTER_RATE, KIND_RATE, KIND_NO_DATA = 0, 1, 2, 3
_KINDS = {
    "above": KIND_VALUE,
    "below": KIND_VALUE,
    "outside": KIND_VALUE,
    "counter_rate_above": KIND_COUNTER_RATE,
    "rate_of_change": KIND_RATE,
    "no_data": KIND_NO_DATA,
}
_MAX_AGE_S = 60.0
_JOIN_CACHE = 32
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Compiled:
    index: int
    rule: Rule
    kind: int
    nodes: frozenset[int] | None  # None: every spacecraft


class RuleSet:
    def __init__(
        self, version: int, rules: list[Rule], roles: dict[int, str], tags: dict[int, set[str]]
    ) -> None:
        self.version = version
        self.built_at = time.monotonic()
        self.known_nodes = frozenset(roles)
        enabled = [r for r in rules if r.enabled]
        self.rules: list[Compiled] = []
        count = len(enabled)
        self.high = np.full((count, 5), np.inf)
        self.low = np.full((count, 5), -np.inf)
        self.clear_low = np.full(count, -np.inf)
        self.clear_high = np.full(count, np.inf)
        self.kind = np.zeros(count, dtype=np.int64)
        by_role: dict[str, set[int]] = defaultdict(set)
        by_tag: dict[str, set[int]] = defaultdict(set)
        for node_id, role in roles.items():
            by_role[role].add(node_id)
        for node_id, names in tags.items():
            for name in names:
                by_tag[name].add(node_id)
        for index, rule in enumerate(enabled):
            kind = _KINDS[rule.condition]
            if kind != KIND_NO_DATA:
                levels = limits.compile_levels(
                    rule.levels, clear_low=rule.clear_low, clear_high=rule.clear_high
                )
                self.high[index], self.low[index] = levels.high, levels.low
                self.clear_low[index], self.clear_high[index] = levels.clear_low, levels.clear_high
            self.kind[index] = kind
            nodes: frozenset[int] | None
            if rule.scope == "spacecraft":
                nodes = frozenset({rule.spacecraft_id}) if rule.spacecraft_id else frozenset()
            elif rule.scope == "role":
                nodes = frozenset(by_role.get(rule.role, set()))
            elif rule.scope == "tag":
                nodes = frozenset(by_tag.get(rule.tag, set()))
            else:
                nodes = None
            self.rules.append(Compiled(index, rule, kind, nodes))
        self.rule_ids = np.fromiter((c.rule.pk for c in self.rules), np.int64, len(self.rules))
        self.has_rates = bool(np.any((self.kind == KIND_COUNTER_RATE) | (self.kind == KIND_RATE)))
        self._by_metric: dict[str, list[Compiled]] = {}
        self._by_metric_node: dict[str, tuple[list[int], dict[int, list[int]]]] = {}
        self._by_pair: dict[tuple[int, int], npt.NDArray[np.int64]] = {}
        self._joins: OrderedDict[bytes, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def for_metric(self, name: str) -> list[Compiled]:
        found = self._by_metric.get(name)
        if found is None:
            found = [c for c in self.rules if limits.metric_matches(c.rule.metric, name)]
            with self._lock:
                self._by_metric[name] = found
        return found

    def _metric_index(self, name: str) -> tuple[list[int], dict[int, list[int]]]:
        """The rules on metric ``name``: those for every node, and those per node."""
        found = self._by_metric_node.get(name)
        if found is None:
            everywhere: list[int] = []
            per_node: dict[int, list[int]] = defaultdict(list)
            for c in self.for_metric(name):
                if c.nodes is None:
                    everywhere.append(c.index)
                else:
                    for node_id in c.nodes:
                        per_node[node_id].append(c.index)
            found = (everywhere, dict(per_node))
            with self._lock:
                self._by_metric_node[name] = found
        return found

    def for_pair(self, metric_id: int, metric_name: str, node_id: int) -> npt.NDArray[np.int64]:
        key = (metric_id, node_id)
        found = self._by_pair.get(key)
        if found is None:
            everywhere, per_node = self._metric_index(metric_name)
            indices = sorted(everywhere + per_node.get(node_id, []))
            found = np.array(indices, dtype=np.int64) if indices else _EMPTY
            with self._lock:
                self._by_pair[key] = found
        return found

    def join(
        self, keys: npt.NDArray[np.int64], metric_names: dict[int, str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """For sorted unique ``(metric_id << 32) | node_id`` keys: the rule indices that
        apply, concatenated, and how many per key. A fleet sends the same set of series
        batch after batch, so the answer for a whole key set is cached (a few of them)."""
        token = keys.tobytes()
        found = self._joins.get(token)
        if found is not None:
            return found
        lists = [
            self.for_pair(k >> 32, metric_names[k >> 32], k & 0xFFFFFFFF) for k in keys.tolist()
        ]
        lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        flat = np.concatenate(lists) if lists else _EMPTY
        with self._lock:
            self._joins[token] = (flat, lens)
            while len(self._joins) > _JOIN_CACHE:
                self._joins.popitem(last=False)
        return flat, lens


_cache: dict[str, RuleSet] = {}
_cache_lock = threading.Lock()


def _version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM alerts_rulesetversion WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def cached_ruleset(*, version: int | None, node_ids: frozenset[int]) -> RuleSet | None:
    """The cached rules if they are those of ``version`` (any version when ``None``),
    young enough, and know every node in ``node_ids``; else ``None``."""
    cached = _cache.get("rules")
    if (
        cached is not None
        and (version is None or cached.version == version)
        and time.monotonic() - cached.built_at < _MAX_AGE_S
        and node_ids <= cached.known_nodes
    ):
        return cached
    return None


def current_ruleset(
    *, node_ids: frozenset[int] = frozenset(), version: int | None = None
) -> RuleSet:
    """The compiled rules as of ``version`` (read here when not given: one indexed read)."""
    version = _version() if version is None else version
    cached = cached_ruleset(version=version, node_ids=node_ids)
    if cached is not None:
        return cached
    rules = list(Rule.objects.select_related("escalation_policy").order_by("id"))
    roles = dict(Spacecraft.objects.values_list("id", "role"))
    tags: dict[int, set[str]] = defaultdict(set)
    for node_id, tag in SpacecraftTag.objects.values_list("spacecraft_id", "tag"):
        tags[node_id].add(tag)
    built = RuleSet(version, rules, roles, tags)
    with _cache_lock:
        _cache["rules"] = built
    return built


def forget() -> None:
    """Drop the cache (tests that edit rules outside the services)."""
    with _cache_lock:
        _cache.clear()
