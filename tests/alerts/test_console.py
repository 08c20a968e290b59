"""The console transport and live alert changes reach an operator's console socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from ops.alerts.models import Channel
from ops.alerts.services import delivery, lifecycle
from ops.console.routing import websocket_urlpatterns
from tests.factories import make_spacecraft, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    yield
    await database_sync_to_async(connections.close_all)()


def _raise_and_dispatch() -> int:
    hub = make_spacecraft("geo-009", role="geo")
    Channel.objects.create(name="console", kind="console", is_default=True)
    now = timezone.now()
    alert = lifecycle.alert_open(
        opening=lifecycle.Opening(
            source="events",
            severity="critical",
            summary="hub hot",
            started_at=now,
            spacecraft_id=hub.pk,
            dedup_key="c-1",
        ),
        actor="test",
        now=now,
    )
    delivery.dispatch(worker="test", budget_s=10)
    return alert.pk


async def _next(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    for _ in range(20):
        message = await communicator.receive_json_from(timeout=5)
        if message.get("type") == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def test_an_alert_reaches_the_console_live_and_as_a_notification() -> None:
    user = await database_sync_to_async(make_user)("olga", "oncall")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    alert_id = await database_sync_to_async(_raise_and_dispatch)()
    changed = await _next(communicator, "alert.changed")
    assert changed["alert"]["id"] == alert_id and changed["alert"]["state"] == "unacknowledged"
    note = await _next(communicator, "alert.notification")
    assert note["kind"] == "firing" and note["alert"]["id"] == alert_id
    assert note["subject"].startswith("[CRITICAL] FIRING")
    await communicator.disconnect()
