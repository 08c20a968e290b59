"""Oversized bodies are refused by the ASGI application before Django reads them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from zenith.asgi import application


async def call(path: str, body: bytes, headers: list[tuple[bytes, bytes]], chunks: int = 1) -> Any:
    sent: list[dict[str, Any]] = []
    size = max(1, len(body) // chunks)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    pending = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    read: list[int] = []

    async def receive() -> dict[str, Any]:
        if pending:
            read.append(1)
            return pending.pop(0)
        await asyncio.Event().wait()  # a client that stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "scheme": "http",
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 1),
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "root_path": "",
    }
    await application(scope, receive, send)
    return sent, len(read)


@pytest.mark.django_db
async def test_declared_length_over_limit_refused_without_reading(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    sent, reads = await call("/api/v1/spacecraft", b"x" * 5000, [(b"content-length", b"5000")])
    assert sent[0]["status"] == 413 and reads == 0
    assert b"body_too_large" in sent[1]["body"]


@pytest.mark.django_db
async def test_streamed_body_cut_off_at_the_limit(settings: Any) -> None:
    settings.TELEMETRY_MAX_BODY_BYTES = 1000
    sent, reads = await call("/api/v1/telemetry", b"y" * 20_000, [], chunks=20)
    assert sent[0]["status"] == 413
    assert reads <= 2  # stopped reading once past the limit


@pytest.mark.django_db
async def test_telemetry_paths_get_their_own_limit(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.TELEMETRY_MAX_BODY_BYTES = 100_000
    sent, _ = await call("/api/v2/write", b"z" * 5000, [(b"content-length", b"5000")])
    assert sent[0]["status"] == 401  # reached Django (no token), not refused for size
