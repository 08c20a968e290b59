from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from ops.console.consumers import FLEET_GROUP, MAX_SUBSCRIPTIONS
from ops.console.routing import websocket_urlpatterns
from ops.edge import live
from tests.factories import make_user
from zenith import registry
from zenith.registry import LiveTopic

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


# Keyed subscriptions, with events sent the way producers send them (ops.edge.live, after
# commit). Other tests' events may still be in flight to the auto topics a socket joins,
# so each test marks its own and reads up to a marker: one publisher sends in order, so an
# event published before the marker arrives before it or not at all.


async def _connect(username: str, role: str = "operator") -> WebsocketCommunicator:
    user = await database_sync_to_async(make_user)(username, role)
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def _publish(group: str, payload: dict[str, Any]) -> None:
    await database_sync_to_async(live.publish)(group, payload)


async def _reply(communicator: WebsocketCommunicator, message: dict[str, Any]) -> Any:
    """Send a client message and return the socket's answer to it (events skipped)."""
    await communicator.send_json_to(message)
    while True:
        answer = await communicator.receive_json_from(timeout=5)
        if answer["type"] in ("subscribed", "unsubscribed", "error"):
            return answer


async def _events_until_marker(communicator: WebsocketCommunicator, tag: str) -> list[Any]:
    """This test's events (``tag``) that arrive before its marker on the console group."""
    await _publish(FLEET_GROUP, {"type": "test.marker", "tag": tag})
    mine = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message == {"type": "test.marker", "tag": tag}:
            return mine
        if message.get("tag") == tag:
            mine.append(message)


async def test_subscribe_to_a_keyed_topic_relays_its_events_until_unsubscribed() -> None:
    tag = uuid.uuid4().hex
    console = await _connect("olga")
    subscribe = {"type": "subscribe", "topic": "telemetry.node", "key": "leo-001"}
    assert await _reply(console, subscribe) == {
        "type": "subscribed",
        "topic": "telemetry.node",
        "key": "leo-001",
    }
    event = {"type": "telemetry.update", "node": "leo-001", "tag": tag, "n": 1}
    await _publish("telemetry.node.leo-001", event)
    await _publish("telemetry.node.leo-002", {**event, "node": "leo-002"})  # not followed
    assert await _events_until_marker(console, tag) == [event]

    unsubscribe = {"type": "unsubscribe", "topic": "telemetry.node", "key": "leo-001"}
    assert await _reply(console, unsubscribe) == {
        "type": "unsubscribed",
        "topic": "telemetry.node",
        "key": "leo-001",
    }
    await _publish("telemetry.node.leo-001", {**event, "n": 2})
    assert await _events_until_marker(console, tag) == []
    await console.disconnect()


async def test_short_form_names_the_key_by_the_topics_keyed_by() -> None:
    tag = uuid.uuid4().hex
    console = await _connect("olga")
    reply = await _reply(console, {"type": "subscribe", "node": "leo-003"})
    assert reply == {"type": "subscribed", "node": "leo-003"}
    await _publish("telemetry.node.leo-003", {"type": "telemetry.update", "tag": tag})
    assert await _events_until_marker(console, tag) == [{"type": "telemetry.update", "tag": tag}]
    await console.disconnect()


INVALID_SUBSCRIPTIONS: list[dict[str, Any]] = [
    {"type": "subscribe", "topic": "telemetry.nodes", "key": "leo-001"},  # unknown topic
    {"type": "subscribe", "topic": "telemetry.fleet", "key": "leo-001"},  # not keyed
    {"type": "subscribe", "topic": "telemetry.node", "key": "LEO-001"},
    {"type": "subscribe", "topic": "telemetry.node", "key": "leo-001\n"},
    {"type": "subscribe", "topic": "telemetry.node", "key": "leo.001"},
    {"type": "subscribe", "topic": "telemetry.node", "key": "a" * 65},
    {"type": "subscribe", "topic": "telemetry.node", "key": ["leo-001"]},
    {"type": "subscribe", "topic": "telemetry.node"},
    {"type": "subscribe", "node": "Leo-001"},
    {"type": "subscribe"},
]


async def test_unknown_topics_and_invalid_keys_get_an_error_and_no_subscription() -> None:
    tag = uuid.uuid4().hex
    console = await _connect("olga")
    for message in INVALID_SUBSCRIPTIONS:
        reply = await _reply(console, message)
        assert reply["type"] == "error" and reply["detail"], message
        key = message.get("key", message.get("node"))
        groups = [f"{message.get('topic', 'telemetry.node')}.leo-001"]
        if isinstance(key, str):
            groups += [f"telemetry.node.{key}", f"telemetry.node.{key.strip().lower()}"]
        for group in groups:
            await _publish(group, {"type": "leak", "group": group, "tag": tag})
    assert await _events_until_marker(console, tag) == []
    await console.disconnect()


async def test_more_than_max_subscriptions_are_refused() -> None:
    tag = uuid.uuid4().hex
    console = await _connect("olga")
    keys = [f"node-{n}" for n in range(MAX_SUBSCRIPTIONS + 1)]
    for key in keys[:MAX_SUBSCRIPTIONS]:
        assert (await _reply(console, {"type": "subscribe", "node": key}))["type"] == "subscribed"
    refused = await _reply(console, {"type": "subscribe", "node": keys[-1]})
    assert refused["type"] == "error" and "too many" in refused["detail"]
    # Subscribing again to a group already joined is not a new subscription.
    assert (await _reply(console, {"type": "subscribe", "node": keys[0]}))["type"] == "subscribed"
    await _publish(f"telemetry.node.{keys[-1]}", {"type": "refused", "tag": tag})
    await _publish(f"telemetry.node.{keys[1]}", {"type": "kept", "tag": tag})
    assert await _events_until_marker(console, tag) == [{"type": "kept", "tag": tag}]
    # Unsubscribing frees a place.
    await _reply(console, {"type": "unsubscribe", "node": keys[0]})
    assert (await _reply(console, {"type": "subscribe", "node": keys[-1]}))["type"] == "subscribed"
    await console.disconnect()


@pytest.mark.usefixtures("scratch_registry")
async def test_topics_registered_for_other_scopes_are_refused() -> None:
    tag = uuid.uuid4().hex
    registry.live_topic(LiveTopic("test.secret", keyed_by="thing", scopes=frozenset({"admin"})))
    registry.live_topic(LiveTopic("test.notices", auto=True, scopes=frozenset({"admin"})))
    operator, admin = await _connect("olga"), await _connect("ada", "admin")

    message = {"type": "subscribe", "topic": "test.secret", "key": "box-1"}
    refused = await _reply(operator, message)
    assert refused["type"] == "error" and "may not follow test.secret" in refused["detail"]
    assert await _reply(admin, message) == {
        "type": "subscribed",
        "topic": "test.secret",
        "key": "box-1",
    }
    await _publish("test.secret.box-1", {"type": "secret", "tag": tag})
    await _publish("test.notices", {"type": "notice", "tag": tag})  # auto, for admins only
    assert await _events_until_marker(operator, tag) == []
    assert await _events_until_marker(admin, tag) == [
        {"type": "secret", "tag": tag},
        {"type": "notice", "tag": tag},
    ]
    await operator.disconnect()
    await admin.disconnect()
