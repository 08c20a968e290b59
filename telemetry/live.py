"""Live telemetry: the channel groups this app publishes to, and the coalescing publisher.

Groups: ``telemetry.fleet`` (every node's newest values) and ``telemetry.node.<slug>``.
Messages are ``{"type": "telemetry.update", "node": slug, "metrics": {name: [iso, value]}}``
and ``{"type": "telemetry.fleet", "nodes": {slug: {name: [iso, value]}}}``.

A 1 Hz fleet of hundreds of nodes would flood sockets if every write were forwarded:
writes are merged per node (newest value of each metric wins) and flushed at most
``TELEMETRY_LIVE_HZ`` times a second by one publisher thread per process. Publishing is
best effort: a channel-layer failure is counted and logged, never raised into ingest.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer
from django.conf import settings
from prometheus_client import Counter

if TYPE_CHECKING:
    from telemetry.ingest import Samples

FLEET_GROUP = "telemetry.fleet"
log = logging.getLogger(__name__)

PUBLISHED = Counter("zenith_live_messages_total", "live telemetry messages sent to channel groups")
PUBLISH_ERRORS = Counter("zenith_live_publish_errors_total", "live publish failures")


def node_group(slug: str) -> str:
    return f"telemetry.node.{slug}"


class Coalescer:
    def __init__(self, hz: float) -> None:
        self.interval = 1.0 / hz
        self.lock = threading.Lock()
        self.pending: dict[str, dict[str, tuple[str, float]]] = {}
        # Newest time published (or queued) per node and metric, in this process.
        self.newest: dict[str, dict[str, str]] = {}
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, latest: dict[str, dict[str, tuple[str, float]]]) -> None:
        with self.lock:
            for node, metrics in latest.items():
                current = self.pending.setdefault(node, {})
                newest = self.newest.setdefault(node, {})
                for name, (iso, value) in metrics.items():
                    # A backfill or replay of older samples is not "latest": skip it.
                    if newest.get(name, "") > iso:
                        continue
                    newest[name] = iso
                    seen = current.get(name)
                    if seen is None or seen[0] <= iso:
                        current[name] = (iso, value)
                if not current:
                    del self.pending[node]
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="telemetry-live", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        # One event loop for the thread's life: the channel layer keeps its Redis
        # connection per loop, so a fresh loop per flush would reconnect every time.
        loop = asyncio.new_event_loop()

        def send(batch: dict[str, dict[str, tuple[str, float]]]) -> None:
            loop.run_until_complete(self._send(batch))

        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                batch, self.pending = self.pending, {}
            if batch:
                try:
                    send(batch)
                except Exception:
                    PUBLISH_ERRORS.inc()
                    log.exception("live publish failed")
            time.sleep(self.interval)

    async def _send(self, batch: dict[str, dict[str, tuple[str, float]]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        as_lists = {
            node: {name: [iso, value] for name, (iso, value) in metrics.items()}
            for node, metrics in batch.items()
        }
        for node, metrics in as_lists.items():
            await layer.group_send(
                node_group(node), {"type": "telemetry.update", "node": node, "metrics": metrics}
            )
        await layer.group_send(FLEET_GROUP, {"type": "telemetry.fleet", "nodes": as_lists})
        PUBLISHED.inc(len(as_lists) + 1)

    def flush_now(self, timeout: float = 5.0) -> None:
        """For tests and shutdown: wait until everything pending has been sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return
            time.sleep(0.01)


_coalescer: Coalescer | None = None


def coalescer() -> Coalescer:
    global _coalescer
    if _coalescer is None:
        _coalescer = Coalescer(settings.TELEMETRY_LIVE_HZ)
    return _coalescer


def publish_samples(samples: Samples) -> None:
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
    coalescer().add(latest)


def live_message_types() -> list[str]:
    return ["telemetry.update", "telemetry.fleet"]
