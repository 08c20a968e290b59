"""Events v2 and Alertmanager payloads: they open, acknowledge and resolve alerts;
replayed, they create nothing new; bad payloads get 400 naming the field, nothing stored."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ops.alerts.models import Alert, AuditEntry, EscalationPolicy, Notification

pytestmark = pytest.mark.django_db
Client = Callable[..., APIClient]

TRIGGER = {
    "routing_key": "r0utingkey0000000000000000000001",
    "event_action": "trigger",
    "dedup_key": "geo-001/fan-stuck",
    "payload": {
        "summary": "Fan 2 stuck on geo-001",
        "source": "geo-001",
        "severity": "error",
        "timestamp": "2026-11-24T12:00:00Z",
        "component": "thermal",
        "custom_details": {"rpm": 0},
    },
}

AM_FIRING = {
    "version": "4",
    "groupKey": '{}:{alertname="NodeDown"}',
    "status": "firing",
    "receiver": "zenith",
    "groupLabels": {"alertname": "NodeDown"},
    "commonLabels": {"alertname": "NodeDown"},
    "commonAnnotations": {},
    "externalURL": "http://prometheus.local:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "NodeDown", "spacecraft": "geo-001", "severity": "critical"},
            "annotations": {"summary": "exporter unreachable"},
            "startsAt": "2026-11-24T12:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.local/graph",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": "leo-001:9100"},
            "annotations": {},
            "startsAt": "2026-11-24T12:01:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "ffff000011112222",
        },
    ],
}


@pytest.fixture
def gateway(client_with_token: Client, fleet: dict[str, Any]) -> APIClient:
    EscalationPolicy.objects.create(name="hubs", routing_key=TRIGGER["routing_key"])
    return client_with_token("ingest", account="prometheus")


def counts() -> tuple[int, int, int]:
    return (
        Alert.objects.count(),
        Notification.objects.count(),
        AuditEntry.objects.filter(alert_id__in=Alert.objects.values("pk")).count(),
    )


def test_events_trigger_ack_resolve_and_replays_create_nothing(gateway: APIClient) -> None:
    r = gateway.post("/api/v1/alerts/events", TRIGGER, format="json")
    assert r.status_code == 202 and r.json()["dedup_key"] == "geo-001/fan-stuck"
    [alert] = Alert.objects.all()
    assert alert.source == "events" and alert.severity == "distress"
    assert alert.spacecraft.slug == "geo-001" and alert.escalation_policy.name == "hubs"
    assert alert.details["custom_details"] == {"rpm": 0}
    before = counts()
    for _ in range(3):
        assert gateway.post("/api/v1/alerts/events", TRIGGER, format="json").status_code == 202
    assert counts() == before
    ack = {**TRIGGER, "event_action": "acknowledge"}
    ack.pop("payload")
    gateway.post("/api/v1/alerts/events", ack, format="json")
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    after_ack = counts()
    gateway.post("/api/v1/alerts/events", ack, format="json")
    assert counts() == after_ack
    resolve = {**ack, "event_action": "resolve"}
    gateway.post("/api/v1/alerts/events", resolve, format="json")
    alert.refresh_from_db()
    assert alert.state == "normal" and not alert.active
    closed = counts()
    for body in (resolve, TRIGGER):  # replaying the resolve, or the original trigger
        gateway.post("/api/v1/alerts/events", body, format="json")
    assert counts() == closed


def test_a_worse_trigger_raises_the_same_alert(gateway: APIClient) -> None:
    gateway.post("/api/v1/alerts/events", TRIGGER, format="json")
    worse = copy.deepcopy(TRIGGER)
    worse["payload"]["severity"] = "critical"
    gateway.post("/api/v1/alerts/events", worse, format="json")
    [alert] = Alert.objects.all()
    assert alert.severity == "critical"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_action": "explode"}, "event_action"),
        ({"routing_key": ""}, "routing_key"),
        ({"routing_key": "nobody-knows-this-key"}, "routing_key"),
        ({"payload": None}, "payload"),
        ({"payload": {"source": "x", "severity": "error"}}, "payload.summary"),
        ({"payload": {"summary": "x", "source": "x", "severity": "meh"}}, "payload.severity"),
        (
            {"payload": {"summary": "x", "source": "x", "severity": "info", "timestamp": "noon"}},
            "payload.timestamp",
        ),
        ({"dedup_key": 7}, "dedup_key"),
        ({"event_action": "resolve", "dedup_key": None}, "dedup_key"),
    ],
)
def test_bad_events_are_refused_naming_the_field(
    gateway: APIClient, change: dict[str, Any], field: str
) -> None:
    body = {**TRIGGER, **change}
    body = {k: v for k, v in body.items() if v is not None or k != "dedup_key"}
    r = gateway.post("/api/v1/alerts/events", body, format="json")
    assert r.status_code == 400 and field in r.json()["fields"], r.json()
    assert counts() == (0, 0, 0)


def test_alertmanager_fires_resolves_and_replays_create_nothing(gateway: APIClient) -> None:
    r = gateway.post("/api/v1/alerts/alertmanager", AM_FIRING, format="json")
    assert r.status_code == 200 and r.json() == {"received": 2, "created": 2, "changed": 2}
    down = Alert.objects.get(details__labels__alertname="NodeDown")
    assert down.severity == "critical" and down.spacecraft.slug == "geo-001"
    assert down.summary == "NodeDown: exporter unreachable"
    disk = Alert.objects.get(details__labels__alertname="DiskFull")
    assert disk.spacecraft.slug == "leo-001" and disk.severity == "warning"
    before = counts()
    replay = gateway.post("/api/v1/alerts/alertmanager", AM_FIRING, format="json").json()
    assert replay == {"received": 2, "created": 0, "changed": 0} and counts() == before
    resolved = copy.deepcopy(AM_FIRING)
    resolved["status"] = "resolved"
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-24T12:05:00Z")
    gateway.post("/api/v1/alerts/alertmanager", resolved, format="json")
    down.refresh_from_db()
    assert not down.active and down.cleared_at.isoformat() == "2026-11-24T12:05:00+00:00"
    after = counts()
    gateway.post("/api/v1/alerts/alertmanager", resolved, format="json")
    assert counts() == after
    # Firing again later (a new startsAt) before anyone acked: the same alert alarms again.
    again = copy.deepcopy(AM_FIRING)
    again["alerts"] = again["alerts"][:1]
    again["alerts"][0]["startsAt"] = "2026-11-24T13:00:00Z"
    r = gateway.post("/api/v1/alerts/alertmanager", again, format="json").json()
    assert r == {"received": 1, "created": 0, "changed": 1}
    down.refresh_from_db()
    assert down.active and down.state == "unacknowledged"
    assert gateway.post("/api/v1/alerts/alertmanager", again, format="json").json()["changed"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": []}, "alerts"),
        (
            {
                "alerts": [
                    {
                        "status": "burning",
                        "labels": {"alertname": "X"},
                        "startsAt": "2026-11-24T12:00:00Z",
                    }
                ]
            },
            "alerts[0].status",
        ),
        (
            {
                "alerts": [
                    {"status": "firing", "labels": {"job": "x"}, "startsAt": "2026-11-24T12:00:00Z"}
                ]
            },
            "alerts[0].labels.alertname",
        ),
        (
            {"alerts": [{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "soon"}]},
            "alerts[0].startsAt",
        ),
        (
            {
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": 3},
                        "startsAt": "2026-11-24T12:00:00Z",
                    }
                ]
            },
            "alerts[0].labels",
        ),
    ],
)
def test_bad_alertmanager_payloads_are_refused_whole(
    gateway: APIClient, change: dict[str, Any], field: str
) -> None:
    body = {**AM_FIRING, **change}
    if change.get("alerts"):
        body["alerts"] = [AM_FIRING["alerts"][0], *change["alerts"]]
        field = field.replace("alerts[0]", "alerts[1]")
    r = gateway.post("/api/v1/alerts/alertmanager", body, format="json")
    assert r.status_code == 400 and field in r.json()["fields"], r.json()
    assert counts() == (0, 0, 0)  # the good first alert was not stored either


def test_sources_need_a_token(api: APIClient, client_with_token: Client) -> None:
    assert api.post("/api/v1/alerts/events", TRIGGER, format="json").status_code == 401
    schedule = client_with_token("schedule")
    assert schedule.post("/api/v1/alerts/alertmanager", AM_FIRING, format="json").status_code == 403
