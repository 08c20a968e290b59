"""Live telemetry: the topics this app publishes to, and what it publishes.

Topics (registered in ``TelemetryConfig.ready``): ``telemetry.fleet``, every node's newest
values, joined by every console; and ``telemetry.node.<slug>``, subscribed per node.
Messages are ``{"type": "telemetry.update", "node": slug, "metrics": {name: [iso, value]}}``
and ``{"type": "telemetry.fleet", "nodes": {slug: {name: [iso, value]}}}``, sent after
commit through ``ops.edge.live``, which coalesces them per node (newest value of each
metric wins) so a 1 Hz fleet of hundreds of nodes cannot flood sockets.

A backfill or replay of older samples (a LOS dump) is not "latest": ``LatestFilter``
remembers, per process, the newest time published per node and metric (bounded by the
fleet and the metric registry) and lets only newer values through.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ops.edge import live
from zenith.registry import LiveTopic, live_topic

if TYPE_CHECKING:
    from telemetry.ingest import Samples

FLEET = LiveTopic(
    "telemetry.fleet", auto=True, description="newest values of every node, merged per tick"
)
NODE = LiveTopic("telemetry.node", keyed_by="node", description="one node's newest values")

Latest = dict[str, dict[str, tuple[str, float]]]


def register_topics() -> None:
    live_topic(FLEET)
    live_topic(NODE)


def node_group(slug: str) -> str:
    return NODE.group(slug)


class LatestFilter:
    """Passes only values at least as new as the newest already published (per process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.newest: dict[str, dict[str, str]] = {}

    def admit(self, latest: Latest) -> Latest:
        out: Latest = {}
        with self.lock:
            for node, metrics in latest.items():
                newest = self.newest.setdefault(node, {})
                kept = {}
                for name, (iso, value) in metrics.items():
                    if newest.get(name, "") > iso:
                        continue
                    newest[name] = iso
                    kept[name] = (iso, value)
                if kept:
                    out[node] = kept
        return out


_filter = LatestFilter()


def _merge_metrics(into: dict[str, list[Any]], new: dict[str, list[Any]]) -> None:
    for name, pair in new.items():
        seen = into.get(name)
        if seen is None or seen[0] <= pair[0]:
            into[name] = pair


def _merge_node(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    # ``old`` is the publisher's pending copy, not yet sent: merged in place.
    _merge_metrics(old["metrics"], new["metrics"])
    return old


def _merge_fleet(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    nodes = old["nodes"]
    for node, metrics in new["nodes"].items():
        _merge_metrics(nodes.setdefault(node, {}), metrics)
    return old


def publish_samples(samples: Samples) -> None:
    """Publish the newest value of every node and metric in ``samples`` (after commit)."""
    # The newest sample of a node usually carries every metric the batch has for it:
    # start from it, then fill in only names it lacks (cheap set checks, no per-value work).
    best: dict[str, int] = {}
    times = samples.times
    for index, node in enumerate(samples.nodes):
        seen = best.get(node)
        if seen is None or times[seen] <= times[index]:
            best[node] = index
    newest: dict[str, dict[str, tuple[datetime, float]]] = {}
    for node, index in best.items():
        ts = times[index]
        newest[node] = {name: (ts, value) for name, value in samples.metrics[index].items()}
    for index, (node, metrics) in enumerate(zip(samples.nodes, samples.metrics, strict=True)):
        current = newest[node]
        if metrics.keys() <= current.keys():
            continue
        ts = times[index]
        for name, value in metrics.items():
            seen_value = current.get(name)
            if seen_value is None or seen_value[0] <= ts:
                current[name] = (ts, value)
    stamps: dict[datetime, str] = {}
    latest: dict[str, dict[str, tuple[str, float]]] = {}
    for node, named in newest.items():
        out = latest[node] = {}
        for name, (ts, value) in named.items():
            iso = stamps.get(ts)
            if iso is None:
                iso = stamps[ts] = ts.isoformat(timespec="microseconds").replace("+00:00", "Z")
            out[name] = (iso, value)
    admitted = _filter.admit(latest)
    if not admitted:
        return
    as_lists: dict[str, dict[str, list[Any]]] = {
        node: {name: [iso, value] for name, (iso, value) in named_values.items()}
        for node, named_values in admitted.items()
    }
    for node, pairs in as_lists.items():
        live.publish(
            NODE.group(node),
            {"type": "telemetry.update", "node": node, "metrics": dict(pairs)},
            key=node,
            merge=_merge_node,
        )
    live.publish(
        FLEET.group(),
        {"type": "telemetry.fleet", "nodes": as_lists},
        key="fleet",
        merge=_merge_fleet,
    )
