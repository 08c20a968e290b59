"""Live alert changes for consoles: ``{"type": "alert.changed", "alert": {...}}`` on the
``alerts`` topic, after commit, never merged away (each is a state change); console
notifications go out as ``{"type": "alert.notification", ...}`` on the same topic."""

from __future__ import annotations

from typing import Any

from ops.alerts.models import Alert
from ops.edge import live
from zenith.registry import LiveTopic, live_topic

ALERTS = LiveTopic(
    "alerts",
    auto=True,
    scopes=frozenset({"operate", "admin"}),
    description="alert state changes and console notifications",
)


def register_topics() -> None:
    live_topic(ALERTS)


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "source": alert.source,
        "rule": alert.rule_key,
        "spacecraft_id": alert.spacecraft_id,
        "metric": alert.metric,
        "summary": alert.summary,
        "severity": alert.severity,
        "state": alert.state,
        "active": alert.active,
        "backlog": alert.backlog,
        "started_at": alert.started_at.isoformat(),
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
        "shelved_until": alert.shelved_until.isoformat() if alert.shelved_until else None,
        "assignee": alert.assignee,
    }


def publish_alert(alert: Alert) -> None:
    live.publish(ALERTS.group(), {"type": "alert.changed", "alert": alert_payload(alert)})


def publish_notification(message: dict[str, Any]) -> None:
    live.publish(ALERTS.group(), {"type": "alert.notification", **message})
