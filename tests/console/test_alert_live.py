"""Alerts on the console socket: an alert raised by a real ingest reaches the consoles
that may see alerts (and no other), in the shape the pages apply; the ``alerts`` and
``node_alerts`` snapshots by scope and key; a page resynchronises from them after a
reconnect; the fleet snapshot carries each node's worst open alert."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from ops.alerts.services import lifecycle
from ops.console.consumers import FLEET_GROUP
from ops.console.routing import websocket_urlpatterns
from ops.edge import live
from tests.console.alert_support import cross, make_rule, one_of_each, raise_alert
from tests.console.support import build_fleet
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    yield
    await database_sync_to_async(connections.close_all)()


async def _connect(username: str, role: str) -> WebsocketCommunicator:
    user = await database_sync_to_async(make_user)(username, role)
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def _until(communicator: WebsocketCommunicator, kind: str, timeout: float = 10) -> Any:
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def _snapshot(communicator: WebsocketCommunicator, view: str, key: str | None = None) -> Any:
    message: dict[str, Any] = {"type": "snapshot", "view": view}
    if key is not None:
        message["key"] = key
    await communicator.send_json_to(message)
    while True:
        answer = await communicator.receive_json_from(timeout=10)
        if answer["type"] in ("snapshot", "error"):
            return answer


async def _alert_events_until_marker(communicator: WebsocketCommunicator, alert_id: int) -> list:
    """This alert's events that arrive before a marker published after them (one
    publisher sends in order, so an event sent before the marker is never after it)."""
    tag = uuid.uuid4().hex
    await database_sync_to_async(live.publish)(FLEET_GROUP, {"type": "test.marker", "tag": tag})
    mine = []
    while True:
        message = await communicator.receive_json_from(timeout=10)
        if message == {"type": "test.marker", "tag": tag}:
            return mine
        if message["type"] == "alert.changed" and message["alert"]["id"] == alert_id:
            mine.append(message)


def _fleet_with_rule() -> list[str]:
    fleet = build_fleet(2, telemetry=False)
    make_rule()
    return [c.slug for c in fleet.crafts]


async def test_an_alert_raised_by_ingest_reaches_consoles_that_may_see_alerts_only() -> None:
    await database_sync_to_async(_fleet_with_rule)()
    oncall = await _connect("otto", "oncall")
    scheduler = await _connect("sam", "scheduler")

    def crossed() -> tuple[int, int]:
        from ops.fleet.models import Spacecraft

        craft = Spacecraft.objects.get(slug="leo-002")
        return cross(craft, 97.5).pk, craft.pk

    alert_id, craft_id = await database_sync_to_async(crossed)()
    events = await _alert_events_until_marker(oncall, alert_id)
    assert len(events) == 1
    changed = events[0]["alert"]
    # What the pages read from it (static/console/alerts.js, fleet.js).
    assert changed["spacecraft_id"] == craft_id
    assert (changed["severity"], changed["state"], changed["active"]) == (
        "critical",
        "unacknowledged",
        True,
    )
    assert changed["shelved_until"] is None and changed["assignee"] == ""
    assert changed["rule"] == "gpu-hot" and changed["metric"] == "gpu_temp_c"
    assert await _alert_events_until_marker(scheduler, alert_id) == []

    # The fleet snapshot now colours leo-002 and carries the alert for live recomputing.
    fleet = await _snapshot(oncall, "fleet")
    assert fleet["data"]["nodes"]["leo-002"]["alert"] == "critical"
    assert fleet["data"]["nodes"]["leo-001"]["alert"] is None
    assert [alert_id, craft_id, "critical", None] in fleet["data"]["alerts"]
    hidden = await _snapshot(scheduler, "fleet")
    assert hidden["data"]["alerts"] is None and hidden["data"]["nodes"]["leo-002"]["alert"] is None

    # An ack from elsewhere (the API's service) arrives as a state change.
    await database_sync_to_async(lifecycle.alert_ack)(alert_id=alert_id, actor="olga")
    acked = await _alert_events_until_marker(oncall, alert_id)
    assert [e["alert"]["state"] for e in acked] == ["acknowledged"]
    await oncall.disconnect()
    await scheduler.disconnect()


async def test_alerts_snapshots_by_view_scope_and_key() -> None:
    def made() -> dict[str, int]:
        fleet = build_fleet(2, telemetry=False)
        return {name: a.pk for name, a in one_of_each(fleet.crafts).items()}

    ids = await database_sync_to_async(made)()
    operator = await _connect("olga", "operator")
    snapshot = await _snapshot(operator, "alerts")
    assert snapshot["view"] == "alerts" and snapshot["key"] is None
    data = snapshot["data"]
    assert data["counts"] == {"firing": 3, "acknowledged": 1, "shelved": 1}
    groups = {row["id"]: row["group"] for row in data["rows"]}
    assert groups == {
        ids["worse"]: "firing",
        ids["firing"]: "firing",
        ids["returned"]: "firing",
        ids["acked"]: "acknowledged",
        ids["shelved"]: "shelved",
    }
    first = data["rows"][0]
    assert first["id"] == ids["worse"]  # the worst first
    assert first["html"].startswith(f'<tr data-alert-id="{ids["worse"]}"')
    assert 'class="btn do-ack"' in first["html"]
    assert first["alert"]["severity"] == "critical" and first["alert"]["state"] == "unacknowledged"
    assert "oncall_html" in data

    node = await _snapshot(operator, "node_alerts", "leo-001")
    assert node["key"] == "leo-001"
    assert {row["id"] for row in node["data"]["rows"]} == {ids["worse"], ids["firing"]}
    for bad, detail in (
        ({"view": "node_alerts"}, "a node_alerts snapshot needs a valid key"),
        ({"view": "node_alerts", "key": "leo-404"}, "node leo-404 does not exist"),
    ):
        answer = await _snapshot(operator, **bad)
        assert answer == {"type": "error", "detail": detail}

    scheduler = await _connect("sam", "scheduler")
    for view, key in (("alerts", None), ("node_alerts", "leo-001")):
        refused = await _snapshot(scheduler, view, key)
        assert refused == {"type": "error", "detail": f"your role may not see {view}"}
    await operator.disconnect()
    await scheduler.disconnect()


async def test_the_alerts_page_resynchronises_from_a_snapshot_after_reconnecting() -> None:
    def made() -> int:
        fleet = build_fleet(1, telemetry=False)
        return raise_alert(fleet.crafts[0], "warning", key="resync").pk

    alert_id = await database_sync_to_async(made)()
    user = await database_sync_to_async(make_user)("olga", "operator")

    async def page() -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
        communicator.scope["user"] = user
        assert (await communicator.connect())[0]
        await _until(communicator, "hello")
        return communicator

    first = await page()
    before = await _snapshot(first, "alerts")
    assert [(r["id"], r["group"]) for r in before["data"]["rows"]] == [(alert_id, "firing")]
    await first.disconnect()

    # While the page is away, someone shelves it and a new alert fires: nothing reaches it...
    def meanwhile() -> int:
        from ops.fleet.models import Spacecraft

        until = timezone.now() + timedelta(hours=1)
        lifecycle.alert_shelve(alert_id=alert_id, until=until, actor="otto", comment="dump")
        return raise_alert(Spacecraft.objects.get(), "severe", key="new").pk

    new_id = await database_sync_to_async(meanwhile)()
    second = await page()
    # ...until it asks for its snapshot on reconnecting, as the page does.
    after = await _snapshot(second, "alerts")
    assert [(r["id"], r["group"]) for r in after["data"]["rows"]] == [
        (new_id, "firing"),
        (alert_id, "shelved"),
    ]
    assert after["data"]["rows"][1]["alert"]["shelved_until"] is not None
    await second.disconnect()
