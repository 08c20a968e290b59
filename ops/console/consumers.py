"""The console's one WebSocket. It authenticates, joins groups and relays: no domain logic.

The groups it may join are the live topics producers registered (``zenith.registry``): it
joins every ``auto`` topic the user's scopes allow on connect, and keyed topics (one node's
telemetry, say) on request. Every event arrives as ``{"type": "console.event", "payload":
{...}}`` (``ops.edge.live``) and is relayed as its payload, so a new producer needs no
change here.

Client messages: ``{"type": "ping", "id": ...}``; ``{"type": "subscribe", "topic":
"telemetry.node", "key": "leo-001"}`` (or the short form ``{"type": "subscribe", "node":
"leo-001"}``, naming the key by the topic's ``keyed_by``) and ``unsubscribe`` alike;
``{"type": "snapshot", "view": "fleet"}`` (or ``"view": "node", "key": "leo-001"``): the
page's current state (``ops.console.snapshots``), asked for on every (re)connect after
subscribing, so a page that missed events while the socket was down resynchronises.
Server messages: ``hello``, ``pong``, ``subscribed``/``unsubscribed``, ``snapshot``
(``{"type": "snapshot", "view", "key", "data"}``), ``error`` and the relayed events
(``telemetry.fleet``, ``telemetry.update``, ``transfer.progress``, ...).
"""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ops.console import snapshots
from ops.edge.access import scopes_for_user
from ops.edge.exceptions import DomainError
from zenith.registry import LiveTopic, live_topics

CONSOLE = LiveTopic("console.fleet", auto=True, description="console-wide notices")
FLEET_GROUP = CONSOLE.group()
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
MAX_SUBSCRIPTIONS = 50
KEY_PATTERN = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: set[str]
    keyed_joined: set[str]
    scopes: frozenset[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        scopes = await database_sync_to_async(scopes_for_user)(user)
        if not scopes:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.scopes = scopes
        self.groups_joined = set()
        self.keyed_joined = set()
        for topic in live_topics():
            if topic.auto and topic.keyed_by is None and topic.scopes & scopes:
                await self._join(topic.group())
        await self.accept()
        await self.send_json(
            {"type": "hello", "user": user.get_username(), "scopes": sorted(scopes)}
        )

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or "type" not in content:
            await self._error("messages are JSON objects with a type")
            return
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        elif kind in ("subscribe", "unsubscribe"):
            await self._subscription(kind, content)
        elif kind == "snapshot":
            await self._snapshot(content)
        else:
            await self._error(f"unknown message type {kind!r}")

    async def _subscription(self, kind: str, content: dict[str, Any]) -> None:
        topic, key, reply = self._addressed(content)
        if topic is None:
            await self._error("subscribe to a keyed topic: {topic, key} or e.g. {node: slug}")
            return
        if not topic.accepts(key):
            await self._error(f"{topic.keyed_by} must be a valid {topic.keyed_by} key")
            return
        if not topic.scopes & self.scopes:
            await self._error(f"your role may not follow {topic.name}")
            return
        group = topic.group(key)
        if kind == "subscribe":
            if group not in self.keyed_joined and len(self.keyed_joined) >= MAX_SUBSCRIPTIONS:
                await self._error("too many subscriptions")
                return
            await self._join(group)
            self.keyed_joined.add(group)
        elif group in self.keyed_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
            self.keyed_joined.discard(group)
        await self.send_json({"type": kind + "d", **reply})

    async def _snapshot(self, content: dict[str, Any]) -> None:
        view = snapshots.view_named(content.get("view"))
        key = content.get("key")
        if view is None:
            await self._error(f"no snapshot of {content.get('view')!r}")
            return
        if view.keyed and not (isinstance(key, str) and KEY_PATTERN.match(key)):
            await self._error(f"a {view.name} snapshot needs a valid key")
            return
        if not view.scopes & self.scopes:
            await self._error(f"your role may not see {view.name}")
            return
        try:
            # Events for this page queue behind the snapshot (the consumer handles one
            # message at a time): the page applies the snapshot, then what came after.
            data = await database_sync_to_async(view.build)(
                key if view.keyed else None, self.scopes
            )
        except DomainError as exc:
            await self._error(exc.detail)
            return
        await self.send_json(
            {
                "type": "snapshot",
                "view": view.name,
                "key": key if view.keyed else None,
                "data": data,
            }
        )

    def _addressed(self, content: dict[str, Any]) -> tuple[LiveTopic | None, Any, dict[str, Any]]:
        keyed = [t for t in live_topics() if t.keyed_by is not None]
        name = content.get("topic")
        if name is not None:
            for topic in keyed:
                if topic.name == name:
                    key = content.get("key")
                    return topic, key, {"topic": name, "key": key}
            return None, None, {}
        for topic in keyed:
            assert topic.keyed_by is not None
            if topic.keyed_by in content:
                key = content[topic.keyed_by]
                return topic, key, {topic.keyed_by: key}
        return None, None, {}

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

    async def console_event(self, event: dict[str, Any]) -> None:
        """Relay a published event (``{"type": "console.event", "payload": {...}}``)."""
        await self.send_json(event["payload"])
