"""The console's one WebSocket. It authenticates, joins groups and relays: no domain logic."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ops.fleet.access import scopes_for_user

FLEET_GROUP = "console.fleet"
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        scopes = await database_sync_to_async(scopes_for_user)(user)
        if not scopes:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups_joined = [FLEET_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(
            {"type": "hello", "user": user.get_username(), "scopes": sorted(scopes)}
        )

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or "type" not in content:
            await self.send_json(
                {"type": "error", "detail": "messages are JSON objects with a type"}
            )
            return
        if content["type"] == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
            return
        await self.send_json(
            {"type": "error", "detail": f"unknown message type {content['type']!r}"}
        )

    async def console_event(self, event: dict[str, Any]) -> None:
        """Relay a published event (``{"type": "console.event", "payload": {...}}``)."""
        await self.send_json(event["payload"])
