"""Refuse oversized request bodies before Django reads them.

Django's ASGI handler spools the whole body (to disk past 2.5 MB) before any view, auth
or Content-Length check runs, so a large unauthenticated POST would cost disk and time.
This wraps the HTTP application: a declared ``Content-Length`` over the limit is refused
at once, and a streamed (chunked) body is cut off as soon as it passes the limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(Exception):
    pass


def _limit_for(path: str) -> int:
    from django.conf import settings

    if path in ("/api/v1/telemetry", "/api/v2/write"):
        return int(settings.TELEMETRY_MAX_BODY_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": "body_too_large",
            "detail": f"request body exceeds {limit} bytes",
            "fields": {"body": f"at most {limit} bytes"},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: Any, limit_for: Callable[[str], int] = _limit_for) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)
