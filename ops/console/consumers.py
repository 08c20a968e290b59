"""The console's one WebSocket. It authenticates, joins groups and relays: no domain logic.

Client messages: ``{"type": "ping"}``, ``{"type": "subscribe", "node": slug}`` and
``{"type": "unsubscribe", "node": slug}``. Server messages: ``hello``, ``pong``, and
whatever the producing apps publish to the groups joined (``telemetry.fleet``,
``telemetry.update``, ``transfer.progress``, ``contact.state``, ...), relayed as they are.
"""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ops.fleet.access import scopes_for_user
from scheduling import live as scheduling_live
from telemetry import live as telemetry_live

FLEET_GROUP = "console.fleet"
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_NODE_SUBSCRIPTIONS = 50


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: set[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        scopes = await database_sync_to_async(scopes_for_user)(user)
        if not scopes:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups_joined = set()
        for group in (
            FLEET_GROUP,
            telemetry_live.FLEET_GROUP,
            scheduling_live.TRANSFERS_GROUP,
            scheduling_live.CONTACTS_GROUP,
        ):
            await self._join(group)
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
            await self.send_json(
                {"type": "error", "detail": "messages are JSON objects with a type"}
            )
            return
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        elif kind in ("subscribe", "unsubscribe"):
            node = content.get("node")
            if not isinstance(node, str) or not _SLUG.match(node):
                await self.send_json({"type": "error", "detail": "node must be a spacecraft slug"})
                return
            group = telemetry_live.node_group(node)
            if kind == "subscribe":
                nodes = [g for g in self.groups_joined if g.startswith("telemetry.node.")]
                if len(nodes) >= MAX_NODE_SUBSCRIPTIONS:
                    await self.send_json({"type": "error", "detail": "too many node subscriptions"})
                    return
                await self._join(group)
            elif group in self.groups_joined:
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.discard(group)
            await self.send_json({"type": kind + "d", "node": node})
        else:
            await self.send_json({"type": "error", "detail": f"unknown message type {kind!r}"})

    async def console_event(self, event: dict[str, Any]) -> None:
        """Relay a published event (``{"type": "console.event", "payload": {...}}``)."""
        await self.send_json(event["payload"])

    async def telemetry_update(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def telemetry_fleet(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def transfer_progress(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def contact_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
