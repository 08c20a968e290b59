"""The console socket's snapshots and live shapes: subscription scoping with real ingests,
snapshots by view, scope and key, resynchronising after a reconnect (a page asks for a
snapshot on every (re)connect), transfer progress as producers publish it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ops.console.routing import websocket_urlpatterns
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    yield
    await database_sync_to_async(connections.close_all)()


async def _connect(user: object) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator


async def _until(communicator: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict:
    """The next message of a type, skipping others (fleet-wide events arrive too)."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


def _fleet(count: int) -> list[str]:
    from tests.console.support import build_fleet

    return [c.slug for c in build_fleet(count, telemetry=False).crafts]


def _ingest(slug: str, value: float, seconds_ago: float = 0.0) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from tests.console.support import ingest

    at = timezone.now() - timedelta(seconds=seconds_ago)
    ingest(slug, at, {"battery_soc": value})
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


async def test_a_node_subscription_gets_that_nodes_updates_only_in_the_published_shape() -> None:
    await database_sync_to_async(_fleet)(2)
    user = await database_sync_to_async(make_user)("olga", "operator")
    communicator = await _connect(user)
    await communicator.send_json_to({"type": "subscribe", "node": "leo-002"})
    assert await communicator.receive_json_from() == {"type": "subscribed", "node": "leo-002"}
    await database_sync_to_async(_ingest)("leo-001", 0.5)
    iso = await database_sync_to_async(_ingest)("leo-002", 0.7)
    update = await _until(communicator, "telemetry.update")
    assert update == {
        "type": "telemetry.update",
        "node": "leo-002",
        "metrics": {"battery_soc": [iso, 0.7]},
    }
    fleet = await _until(communicator, "telemetry.fleet")
    assert set(fleet["nodes"]) <= {"leo-001", "leo-002"}
    await communicator.send_json_to({"type": "unsubscribe", "node": "leo-002"})
    assert (await _until(communicator, "unsubscribed")) == {
        "type": "unsubscribed",
        "node": "leo-002",
    }
    await communicator.send_json_to({"type": "subscribe", "node": "LEO 1; drop"})
    assert (await _until(communicator, "error"))["detail"] == "node must be a valid node key"
    await communicator.disconnect()


async def test_snapshots_by_view_scope_and_key() -> None:
    await database_sync_to_async(_fleet)(2)
    user = await database_sync_to_async(make_user)("sam", "scheduler")
    communicator = await _connect(user)
    await communicator.send_json_to({"type": "snapshot", "view": "fleet"})
    fleet = await _until(communicator, "snapshot", timeout=10)
    assert fleet["view"] == "fleet" and fleet["key"] is None
    assert set(fleet["data"]["nodes"]) == {"leo-001", "leo-002"}
    assert fleet["data"]["nodes"]["leo-001"]["contact"] == "svalbard"
    await communicator.send_json_to({"type": "snapshot", "view": "transfers"})
    queue = await _until(communicator, "snapshot")
    assert queue["data"]["count"] == 4 and "data-action" not in queue["data"]["html"]
    assert {t["state"] for t in queue["data"]["transfers"]} == {"planned", "in_progress"}
    await communicator.send_json_to({"type": "snapshot", "view": "contacts"})
    contacts = await _until(communicator, "snapshot")
    assert len(contacts["data"]["active"]) == 1 and len(contacts["data"]["states"]) == 2
    for bad, detail in (
        ({"view": "node"}, "a node snapshot needs a valid key"),
        ({"view": "node", "key": "leo-404"}, "node leo-404 does not exist"),
        ({"view": "everything"}, "no snapshot of 'everything'"),
    ):
        await communicator.send_json_to({"type": "snapshot", **bad})
        assert (await _until(communicator, "error"))["detail"] == detail
    await communicator.disconnect()


async def test_a_page_resynchronises_from_a_snapshot_after_reconnecting() -> None:
    await database_sync_to_async(_fleet)(1)
    user = await database_sync_to_async(make_user)("olga", "operator")
    first = await _connect(user)
    await first.send_json_to({"type": "subscribe", "node": "leo-001"})
    await _until(first, "subscribed")
    await database_sync_to_async(_ingest)("leo-001", 0.4, seconds_ago=30)
    await first.send_json_to({"type": "snapshot", "view": "node", "key": "leo-001"})
    before = await _until(first, "snapshot")
    assert before["data"]["latest"]["battery_soc"][1] == 0.4
    await first.disconnect()
    # While the page is disconnected the node reports again: nothing reaches the page...
    missed = await database_sync_to_async(_ingest)("leo-001", 0.9)
    second = await _connect(user)
    await second.send_json_to({"type": "subscribe", "node": "leo-001"})
    await _until(second, "subscribed")
    # ...until it asks for a snapshot on reconnecting, as every page does.
    await second.send_json_to({"type": "snapshot", "view": "node", "key": "leo-001"})
    after = await _until(second, "snapshot")
    assert after["data"]["latest"]["battery_soc"] == [missed, 0.9]
    assert after["data"]["contact"] == "svalbard" and len(after["data"]["transfers"]) == 2
    await second.disconnect()


async def test_transfer_progress_reaches_every_console_in_the_published_shape() -> None:
    from scheduling.models import Transfer
    from scheduling.services import transfers as transfer_services

    await database_sync_to_async(_fleet)(1)
    user = await database_sync_to_async(make_user)("olga", "operator")
    communicator = await _connect(user)

    def pause() -> int:
        transfer = Transfer.objects.filter(state="planned").first()
        assert transfer is not None
        transfer_services.transfer_pause(transfer=transfer, actor="olga")
        return transfer.pk

    pk = await database_sync_to_async(pause)()
    message = await _until(communicator, "transfer.progress")
    assert message["transfer"]["id"] == pk and message["transfer"]["state"] == "paused"
    assert set(message["transfer"]) >= {
        "spacecraft_id",
        "bytes_done",
        "size_bytes",
        "progress",
        "eta",
    }
    await communicator.disconnect()
