from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from ops.console.consumers import FLEET_GROUP
from ops.console.routing import websocket_urlpatterns
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    # database_sync_to_async runs in a worker thread whose connection would
    # otherwise outlive the test and block dropping the test database.
    yield
    await database_sync_to_async(connections.close_all)()


async def test_anonymous_socket_is_closed() -> None:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_user_without_role_is_refused() -> None:
    user = await database_sync_to_async(make_user)("nobody")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_operator_gets_hello_ping_and_group_events() -> None:
    user = await database_sync_to_async(make_user)("olga", "operator")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello == {"type": "hello", "user": "olga", "scopes": ["operate"]}
    await communicator.send_json_to({"type": "ping", "id": 7})
    assert await communicator.receive_json_from() == {"type": "pong", "id": 7}
    await get_channel_layer().group_send(
        FLEET_GROUP,
        {"type": "console.event", "payload": {"type": "node.health", "node": "leo-001"}},
    )
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "node.health",
        "node": "leo-001",
    }
    await communicator.disconnect()
