"""Live events to console sockets: the one way every app publishes.

A producer calls ``publish(group, payload, key=...)`` inside or outside a transaction; the
event is queued only once the transaction commits (a rolled-back write shows nothing) and
one publisher thread per process sends it to the channel group as
``{"type": "console.event", "payload": payload}``, which the console consumer relays.

Coalescing: events with a ``key`` (a node, a transfer) replace the pending event of the
same group and key (``merge(old, new)`` may combine them instead), so a 1 Hz fleet or a
transfer acknowledging chunks costs at most ``ZENITH_LIVE_HZ`` messages a second per key.
Events without a key (state changes) are never merged away. The first event after a quiet
spell goes out at once; later ones wait for the next tick. Order is kept: a replaced event
moves behind everything queued before it.

Bounded: at most ``MAX_PENDING`` events wait; beyond that the oldest are dropped and
counted. Best effort: a channel-layer failure is counted and logged, never raised into
the write that caused the event (consoles resynchronise from a snapshot).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from prometheus_client import Counter

EVENT_TYPE = "console.event"
MAX_PENDING = 20_000

Payload = dict[str, Any]
Merge = Callable[[Payload, Payload], Payload]

log = logging.getLogger(__name__)
PUBLISHED = Counter(
    "zenith_live_messages_total", "live events sent to channel groups", ["group_kind"]
)
DROPPED = Counter("zenith_live_dropped_total", "live events dropped (queue full)")
PUBLISH_ERRORS = Counter("zenith_live_publish_errors_total", "live publish failures")


def _kind(group: str) -> str:
    # Label by topic family (``telemetry.node``), never by key: bounded cardinality.
    head, _, _tail = group.rpartition(".")
    return head if head.count(".") >= 1 else group


class Publisher:
    """Queues events per process and sends them from one thread at ``hz`` at most."""

    def __init__(self, hz: float, max_pending: int = MAX_PENDING) -> None:
        self.interval = 1.0 / hz
        self.max_pending = max_pending
        self.lock = threading.Lock()
        # A slot is (group, keyed, key): unkeyed events get a sequence number in their own
        # namespace, so no caller's key (a tuple, say) can replace one.
        self.pending: OrderedDict[tuple[str, bool, Hashable], Payload] = OrderedDict()
        self.sequence = itertools.count()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.thread: threading.Thread | None = None

    def add(
        self, group: str, payload: Payload, *, key: Hashable = None, merge: Merge | None = None
    ) -> None:
        with self.lock:
            slot: tuple[str, bool, Hashable] = (
                (group, True, key) if key is not None else (group, False, next(self.sequence))
            )
            earlier = self.pending.pop(slot, None)
            if earlier is not None and merge is not None:
                try:
                    payload = merge(earlier, payload)
                except Exception:  # a broken merge must not lose the newer event
                    PUBLISH_ERRORS.inc()
                    log.exception("live merge for %s failed; the newer event stands", group)
            self.pending[slot] = payload
            while len(self.pending) > self.max_pending:
                self.pending.popitem(last=False)
                DROPPED.inc()
            self.idle.clear()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        # One event loop for the thread's life: the channel layer keeps its Redis
        # connection per loop, so a fresh loop per flush would reconnect every time.
        loop = asyncio.new_event_loop()
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                batch = list(self.pending.items())
                self.pending.clear()
            if batch:
                try:
                    loop.run_until_complete(self._send(batch))
                except Exception:
                    PUBLISH_ERRORS.inc()
                    log.exception("live publish failed")
            with self.lock:
                if not self.pending:
                    self.idle.set()
            time.sleep(self.interval)

    async def _send(self, batch: list[tuple[tuple[str, bool, Hashable], Payload]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for (group, _keyed, _key), payload in batch:
            await layer.group_send(group, {"type": EVENT_TYPE, "payload": payload})
            PUBLISHED.labels(_kind(group)).inc()

    def flush_now(self, timeout: float = 5.0) -> bool:
        """For tests and shutdown: wait until everything queued has been sent."""
        return self.idle.wait(timeout)


_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child (Celery prefork) must not inherit the parent's queue, lock or (dead)
    # thread: it starts its own publisher on first use.
    global _publisher, _publisher_lock
    _publisher = None
    _publisher_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def publisher() -> Publisher:
    global _publisher
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:
                _publisher = Publisher(settings.ZENITH_LIVE_HZ)
    return _publisher


def publish(
    group: str, payload: Payload, *, key: Hashable = None, merge: Merge | None = None
) -> None:
    """Send ``payload`` to ``group`` once the current transaction commits (at once when
    there is none). Events with the same ``key`` coalesce; ``merge`` combines them."""

    def queue() -> None:
        try:
            publisher().add(group, payload, key=key, merge=merge)
        except Exception:  # never let a console event fail the write that caused it
            PUBLISH_ERRORS.inc()
            log.exception("live event for %s not queued", group)

    transaction.on_commit(queue)
