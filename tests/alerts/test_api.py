"""The alerts API: list and filter, detail with history, and ack / unack / shelve /
unshelve / reset / assign with comments; scopes; ack lasting until the alert clears."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ops.alerts.models import AlertState, AuditEntry
from tests.alerts.conftest import alerts_of, ingest, make_rule, outbox

pytestmark = pytest.mark.django_db
Client = Callable[..., APIClient]


@pytest.fixture
def oncall(client_with_token: Client) -> APIClient:
    return client_with_token("operate", account="pager")


def firing(fleet: dict[str, Any], **rule: Any) -> int:
    make_rule(**rule)
    ingest("leo-001", [(0, 90)])
    return alerts_of(rule.get("key", "gpu-hot"))[0].pk


def test_list_filter_and_detail_with_history(fleet: dict[str, Any], oncall: APIClient) -> None:
    make_rule()
    make_rule(
        "soc-low",
        metric="battery_soc",
        condition="below",
        levels=[{"severity": "critical", "low": 0.2}],
    )
    ingest("leo-001", [(0, 90)])
    ingest("leo-002", [(0, 0.1)], metric="battery_soc")
    body = oncall.get("/api/v1/alerts").json()
    assert body["count"] == 2
    crit = oncall.get("/api/v1/alerts", {"severity": "critical"}).json()["results"]
    assert [a["rule"] for a in crit] == ["soc-low"] and crit[0]["spacecraft"] == "leo-002"
    by_node = oncall.get("/api/v1/alerts", {"spacecraft": "leo-001", "active": "true"}).json()
    assert [a["rule"] for a in by_node["results"]] == ["gpu-hot"]
    bad = oncall.get("/api/v1/alerts", {"state": "firing"})
    assert bad.status_code == 400 and "state" in bad.json()["fields"]
    detail = oncall.get(f"/api/v1/alerts/{by_node['results'][0]['id']}").json()
    assert detail["history"][0]["action"] == "alert.raised"
    assert oncall.get("/api/v1/alerts/999999").status_code == 404


def test_ack_lasts_until_clear_then_a_new_crossing_pages_again(
    fleet: dict[str, Any], oncall: APIClient
) -> None:
    alert_id = firing(fleet)
    r = oncall.post(f"/api/v1/alerts/{alert_id}/ack", {"comment": "looking"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert r.json()["acked_by"] == "svc:pager/t1" or r.json()["acked_by"]
    again = oncall.post(f"/api/v1/alerts/{alert_id}/ack", {}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "wrong_state"
    # Still above: the ack holds (no re-page) ...
    ingest("leo-001", [(1, 95)])
    [alert] = alerts_of("gpu-hot")
    assert alert.state == AlertState.ACKNOWLEDGED and outbox(alert) == ["firing"]
    # ... until it clears: then it closes, and the next crossing is a new occurrence.
    ingest("leo-001", [(2, 70)])
    alert.refresh_from_db()
    assert alert.state == AlertState.NORMAL and not alert.active
    ingest("leo-001", [(3, 91)])
    _first, second = alerts_of("gpu-hot")
    assert second.state == AlertState.UNACKNOWLEDGED and outbox(second) == ["firing"]
    entry = AuditEntry.objects.get(alert_id=alert_id, action="alert.acknowledged")
    assert entry.comment == "looking" and entry.actor == r.json()["acked_by"]


def test_unack_shelve_unshelve_assign(fleet: dict[str, Any], oncall: APIClient) -> None:
    alert_id = firing(fleet)
    url = f"/api/v1/alerts/{alert_id}"
    assert oncall.post(f"{url}/unack", {}, format="json").status_code == 409
    oncall.post(f"{url}/ack", {}, format="json")
    r = oncall.post(f"{url}/unack", {"comment": "not mine"}, format="json")
    assert r.json()["state"] == "unacknowledged"
    until = timezone.now() + timedelta(hours=2)
    r = oncall.post(
        f"{url}/shelve", {"until": until.isoformat(), "comment": "noisy"}, format="json"
    )
    assert r.status_code == 200 and r.json()["shelved_until"] is not None
    past = oncall.post(f"{url}/shelve", {"until": "2020-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and "until" in past.json()["fields"]
    missing = oncall.post(f"{url}/shelve", {}, format="json")
    assert missing.status_code == 400 and "until" in missing.json()["fields"]
    too_long = timezone.now() + timedelta(days=30)
    r2 = oncall.post(f"{url}/shelve", {"until": too_long.isoformat()}, format="json")
    assert r2.status_code == 400 and "until" in r2.json()["fields"]
    r = oncall.post(f"{url}/unshelve", {"comment": "fixed the sensor"}, format="json")
    assert r.json()["shelved_until"] is None
    r = oncall.post(f"{url}/assign", {"assignee": "alice", "comment": "yours"}, format="json")
    assert r.json()["assignee"] == "alice"
    actions = [h["action"] for h in oncall.get(url).json()["history"]]
    assert actions == [
        "alert.raised",
        "alert.acknowledged",
        "alert.unacknowledged",
        "alert.shelved",
        "alert.unshelved",
        "alert.assigned",
    ]
    comments = [h["comment"] for h in oncall.get(url).json()["history"]]
    assert comments[2:] == ["not mine", "noisy", "fixed the sensor", "yours"]


def test_reset_only_a_latched_alert_once_it_has_cleared(
    fleet: dict[str, Any], oncall: APIClient
) -> None:
    alert_id = firing(fleet, latching=True)
    url = f"/api/v1/alerts/{alert_id}"
    active = oncall.post(f"{url}/reset", {}, format="json")
    assert active.status_code == 409 and "still active" in active.json()["detail"]
    ingest("leo-001", [(1, 70)])
    assert oncall.get(url).json()["state"] == "latched"
    r = oncall.post(f"{url}/reset", {"comment": "root cause fixed"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "normal"
    # After a reset the next crossing is a new occurrence.
    ingest("leo-001", [(2, 99)])
    assert len(alerts_of("gpu-hot")) == 2


def test_scopes(fleet: dict[str, Any], client_with_token: Client, api: APIClient) -> None:
    alert_id = firing(fleet)
    assert api.get("/api/v1/alerts").status_code == 401
    assert client_with_token("schedule").get("/api/v1/alerts").status_code == 403
    assert client_with_token("ingest").post(f"/api/v1/alerts/{alert_id}/ack").status_code == 403
    assert client_with_token("admin").post(f"/api/v1/alerts/{alert_id}/ack").status_code == 200
    other = client_with_token("operate", spacecraft=[fleet["leo-002"]])
    assert other.get("/api/v1/alerts").json()["count"] == 0
    assert other.post(f"/api/v1/alerts/{alert_id}/unack").status_code == 404
