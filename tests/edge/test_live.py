"""ops.edge.live against the real channel layer: after commit, coalesced per key, ordered,
bounded, flushed at once after a quiet spell and at most ``hz`` times a second after that.

Events are received the way a console socket receives them: a fresh channel added to the
group on the configured layer (Redis pub/sub when REDIS_URL is set). Tests that need
several events waiting together use their own ``Publisher`` right after it has flushed:
its thread then sleeps one interval (0.5 s), so whatever is added next waits for the
next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connections, transaction
from prometheus_client import REGISTRY

from ops.edge import live
from ops.edge.live import EVENT_TYPE, Publisher

# Only the transaction tests touch the database; a Publisher alone needs none.
committing = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def _close_thread_connections() -> AsyncIterator[None]:
    # database_sync_to_async runs in a worker thread whose connection would otherwise
    # outlive the test and block dropping the test database.
    yield
    await database_sync_to_async(connections.close_all)()


def _group() -> str:
    return f"test.live.{uuid.uuid4().hex[:12]}"


class Listener:
    """A fresh channel in a group, read all along as a consumer reads it. Waits with a
    deadline are on a local queue: the pub/sub layer drops a channel (and what reaches it
    until it is read again) when a ``receive`` on it is cancelled."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        layer = get_channel_layer()
        while True:
            self.queue.put_nowait(await layer.receive(self.channel))

    async def receive(self, timeout: float = 2.0) -> Any:
        message = await asyncio.wait_for(self.queue.get(), timeout)
        assert message["type"] == EVENT_TYPE
        return message["payload"]

    async def nothing(self, seconds: float) -> bool:
        """True when nothing arrives for ``seconds``."""
        try:
            message = await asyncio.wait_for(self.queue.get(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected event {message!r}")


Listen = Callable[[str], Awaitable[Listener]]


@pytest.fixture
async def listen() -> AsyncIterator[Listen]:
    listeners: list[Listener] = []

    async def start(group: str) -> Listener:
        layer = get_channel_layer()
        channel = await layer.new_channel("test.")
        await layer.group_add(group, channel)
        listeners.append(Listener(channel))
        return listeners[-1]

    yield start
    for listener in listeners:
        listener.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener.task


async def _sleeping_publisher(hz: float = 2.0, **kwargs: Any) -> Publisher:
    """A publisher that has just flushed: its thread sleeps one interval (1/hz) now."""
    publisher = Publisher(hz=hz, **kwargs)
    publisher.add(_group(), {"prime": True})  # starts the thread; sent at once
    assert await asyncio.to_thread(publisher.flush_now, 5)
    return publisher


def _dropped() -> float:
    return REGISTRY.get_sample_value("zenith_live_dropped_total") or 0.0


@committing
@pytest.mark.usefixtures("_close_thread_connections")
async def test_publish_in_a_transaction_is_sent_only_after_commit(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    published, commit = threading.Event(), threading.Event()

    def write() -> None:
        with transaction.atomic():
            live.publish(group, {"n": 1})
            published.set()
            assert commit.wait(5)

    writer = asyncio.ensure_future(database_sync_to_async(write)())
    assert await asyncio.to_thread(published.wait, 5)
    # The process publisher flushes at ZENITH_LIVE_HZ (4 by default): it would have
    # sent a queued event twice over by now.
    assert await channel.nothing(0.5)
    commit.set()
    await writer
    assert await channel.receive() == {"n": 1}


@committing
@pytest.mark.usefixtures("_close_thread_connections")
async def test_rolled_back_transaction_and_savepoint_send_nothing(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)

    class Abandon(Exception):
        pass

    def write() -> None:
        with pytest.raises(Abandon), transaction.atomic():
            live.publish(group, {"n": "rolled back"})
            raise Abandon
        with transaction.atomic():
            with pytest.raises(Abandon), transaction.atomic():
                live.publish(group, {"n": "savepoint rolled back"})
                raise Abandon
            live.publish(group, {"n": "committed"})
        live.publish(group, {"n": "no transaction"})

    await database_sync_to_async(write)()
    # Unkeyed events keep their order, so anything rolled back would have come first.
    assert await channel.receive() == {"n": "committed"}
    assert await channel.receive() == {"n": "no transaction"}
    assert await channel.nothing(0.3)


async def test_keyed_events_coalesce_newest_wins_and_merge_combines(listen: Listen) -> None:
    group, other = _group(), _group()
    channel, other_channel = await listen(group), await listen(other)
    publisher = await _sleeping_publisher()

    def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        return {"seen": old["seen"] + new["seen"]}

    for value in range(1, 6):
        publisher.add(group, {"node": "a", "v": value}, key="a")
    publisher.add(group, {"node": "b", "v": 1}, key="b")
    publisher.add(other, {"node": "a", "v": "other group"}, key="a")  # keys are per group
    publisher.add(group, {"seen": [1]}, key="m", merge=merge)
    publisher.add(group, {"seen": [2]}, key="m", merge=merge)
    publisher.add(group, {"seen": [3]}, key="m", merge=merge)

    assert await channel.receive() == {"node": "a", "v": 5}
    assert await channel.receive() == {"node": "b", "v": 1}
    assert await channel.receive() == {"seen": [1, 2, 3]}
    assert await other_channel.receive() == {"node": "a", "v": "other group"}
    assert await channel.nothing(0.2)


async def test_unkeyed_events_are_never_merged_away_and_order_is_kept(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    publisher = await _sleeping_publisher()

    publisher.add(group, {"progress": 1}, key=("transfer", 7))
    publisher.add(group, {"state": "X"})  # a state change
    publisher.add(group, {"state": "X"})  # the same payload again is another event
    publisher.add(group, {"progress": 2}, key=("transfer", 7))  # replaces progress 1
    publisher.add(group, {"state": "Y"})
    # Keys are opaque: no key, however shaped, replaces an event that has none.
    for n in range(8):
        publisher.add(group, {"odd key": n}, key=("#", n))

    received = [await channel.receive() for _ in range(12)]
    assert received == [
        {"state": "X"},
        {"state": "X"},
        {"progress": 2},  # published after X, so it arrives after X, not in progress 1's place
        {"state": "Y"},
        *({"odd key": n} for n in range(8)),
    ]
    assert await channel.nothing(0.2)


async def test_pending_queue_is_bounded_oldest_dropped_and_counted(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    publisher = await _sleeping_publisher(max_pending=5)
    dropped_before = _dropped()

    for n in range(12):
        publisher.add(group, {"n": n})

    assert _dropped() - dropped_before == 7
    assert [await channel.receive() for _ in range(5)] == [{"n": n} for n in range(7, 12)]
    assert await channel.nothing(0.2)


async def test_flush_now_waits_until_sent(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    publisher = await _sleeping_publisher()

    publisher.add(group, {"n": 1})
    assert publisher.flush_now(timeout=0.05) is False  # waiting for the next tick
    assert await asyncio.to_thread(publisher.flush_now, 5) is True
    # Sent means handed to the channel layer: it is already on its way.
    assert await channel.receive(timeout=0.5) == {"n": 1}
    assert publisher.flush_now(timeout=0) is True  # nothing left: returns at once


async def test_first_event_after_a_quiet_spell_is_prompt_a_burst_coalesced(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    publisher = Publisher(hz=2.0)  # one flush per 0.5 s at most
    publisher.add(group, {"n": 0})
    assert await channel.receive() == {"n": 0}
    await asyncio.sleep(0.6)  # a quiet spell: longer than one interval

    started = time.monotonic()
    publisher.add(group, {"n": 1})
    assert await channel.receive() == {"n": 1}
    assert time.monotonic() - started < 0.3  # leading edge: not held for the 0.5 s tick

    burst = time.monotonic()
    for n in range(2, 12):  # within one interval of the last flush
        publisher.add(group, {"n": n}, key="burst")
    assert await channel.receive() == {"n": 11}
    assert time.monotonic() - burst >= 0.3  # waited for the tick, then went as one
    assert await channel.nothing(0.3)


async def test_a_failing_merge_keeps_the_newer_event(listen: Listen) -> None:
    group = _group()
    channel = await listen(group)
    publisher = await _sleeping_publisher()

    def broken(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("merge bug")

    publisher.add(group, {"v": 1}, key="k", merge=broken)
    publisher.add(group, {"v": 2}, key="k", merge=broken)
    assert await channel.receive() == {"v": 2}
    assert await channel.nothing(0.2)


def test_a_forked_child_starts_its_own_publisher() -> None:
    import os

    from ops.edge import live

    parent = live.publisher()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got a fresh publisher, then leave at once
        fresh = live.publisher() is not parent and not live.publisher().pending
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert live.publisher() is parent
