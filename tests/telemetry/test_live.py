"""After a write commits, the newest values reach console sockets through the channel layer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ops.console.routing import websocket_urlpatterns
from telemetry import ingest, services
from tests.factories import make_spacecraft, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    yield
    await database_sync_to_async(connections.close_all)()


def _ingest(node: str, values: list[float], fail: bool = False) -> None:
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    body = {
        "samples": [
            {
                "node": node,
                "ts": (ts + timedelta(seconds=i)).isoformat(),
                "metrics": {"gpu_temp_c": v},
            }
            for i, v in enumerate(values)
        ]
    }
    if fail:
        body["samples"].append(
            {"node": "ghost", "ts": ts.isoformat(), "metrics": {"gpu_temp_c": 1}}
        )
    import orjson

    samples = ingest.parse_json(orjson.dumps(body), max_points=1000)
    services.telemetry_ingest(samples=samples)


async def _connect(username: str) -> WebsocketCommunicator:
    user = await database_sync_to_async(make_user)(username, "operator")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def _next_of(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message


async def test_committed_write_reaches_fleet_and_node_subscribers() -> None:
    await database_sync_to_async(make_spacecraft)("leo-001")
    console = await _connect("olga")
    await console.send_json_to({"type": "subscribe", "node": "leo-001"})
    assert await _next_of(console, "subscribed") == {"type": "subscribed", "node": "leo-001"}
    await database_sync_to_async(_ingest)("leo-001", [41.0, 42.5])
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < 2:
        message = await console.receive_json_from(timeout=5)
        if "leo-001" in str(message):  # other tests' writes may still be in flight
            seen[message["type"]] = message
    fleet, update = seen["telemetry.fleet"], seen["telemetry.update"]
    assert fleet["nodes"]["leo-001"]["gpu_temp_c"][1] == 42.5  # newest of the batch
    assert update["node"] == "leo-001" and update["metrics"]["gpu_temp_c"][1] == 42.5
    await console.disconnect()


async def test_rolled_back_write_publishes_nothing() -> None:
    # A slug no other test writes: their events may still be in flight to the fleet group.
    await database_sync_to_async(make_spacecraft)("leo-rolled-back")
    console = await _connect("ivan")
    with pytest.raises(Exception, match="unknown spacecraft"):
        await database_sync_to_async(_ingest)("leo-rolled-back", [99.0], True)
    deadline = asyncio.get_running_loop().time() + 1.0
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        if await console.receive_nothing(timeout=remaining):
            break
        message = await console.receive_json_from()
        assert "leo-rolled-back" not in str(message)
    await console.disconnect()


def test_older_samples_are_not_published_as_latest() -> None:
    from telemetry.live import LatestFilter

    latest = LatestFilter()
    latest.admit({"leo-009": {"gpu_temp_c": ("2026-01-01T00:00:02.000000Z", 2.0)}})
    backfill = {"leo-009": {"gpu_temp_c": ("2026-01-01T00:00:01.000000Z", 1.0)}}
    admitted = latest.admit(backfill)
    assert latest.newest["leo-009"]["gpu_temp_c"] == "2026-01-01T00:00:02.000000Z"
    queued = admitted.get("leo-009", {}).get("gpu_temp_c")
    assert queued is None  # the backfill is not published as the latest value
