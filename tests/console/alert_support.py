"""Alerts for console tests, made the ways Zenith makes them: a limit rule crossed by a
real ingest, or an occurrence opened through ``ops.alerts``' lifecycle service (what the
events endpoint does), then acted on through the same services people use."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from ops.alerts.models import Alert, Rule, Schedule
from ops.alerts.services import lifecycle
from ops.alerts.services import rules as rule_services
from ops.fleet.models import Spacecraft
from tests.console.support import ingest


def make_rule(key: str = "gpu-hot", **values: Any) -> Rule:
    base: dict[str, Any] = {
        "name": key.replace("-", " ").title(),
        "metric": "gpu_temp_c",
        "condition": "above",
        "levels": [{"severity": "warning", "high": 80.0}, {"severity": "critical", "high": 95.0}],
    }
    base.update(values)
    return rule_services.rule_create(key=key, values=base, actor="test")


def cross(craft: Spacecraft, value: float, *, at: datetime | None = None) -> Alert:
    """Ingest a ``gpu_temp_c`` sample (as a gateway would); the alert the rule raised."""
    ingest(craft.slug, at or timezone.now(), {"gpu_temp_c": value})
    found = Alert.objects.filter(spacecraft=craft, metric="gpu_temp_c").order_by("-id").first()
    assert found is not None, "the sample crossed no rule"
    return found


def raise_alert(
    craft: Spacecraft | None,
    severity: str = "warning",
    *,
    key: str,
    value: float = 1.0,
    metric: str = "gpu_temp_c",
    minutes_ago: float = 1.0,
) -> Alert:
    """An open occurrence from an external source (the events endpoint's service)."""
    now = timezone.now()
    return lifecycle.alert_open(
        opening=lifecycle.Opening(
            source="events",
            severity=severity,
            summary=f"{metric} {severity} on {craft.slug if craft else 'the ground'}",
            started_at=now - timedelta(minutes=minutes_ago),
            spacecraft_id=craft.pk if craft else None,
            metric=metric,
            value=value,
            dedup_key=key,
        ),
        actor="test",
        now=now,
    )


def make_schedule(*people: str, name: str = "primary") -> Schedule:
    """A weekly rotation of ``people`` that began yesterday (the first is on call now)."""
    schedule = Schedule.objects.create(name=name)
    schedule.rotations.create(
        name="weekly",
        participants=list(people),
        start_date=(timezone.now() - timedelta(days=1)).date(),
        handoff_time=time(0, 0),
        shift_days=7,
    )
    return schedule


def one_of_each(crafts: list[Spacecraft], *, tag: str = "") -> dict[str, Alert]:
    """Alerts spread over ``crafts`` in every list: firing (two severities), acknowledged,
    shelved, returned (cleared before an ack), and one closed."""
    now = timezone.now()
    first, last = crafts[0], crafts[-1]
    made = {
        "firing": raise_alert(first, "warning", key=f"{tag}f1", value=82.5),
        "worse": raise_alert(first, "critical", key=f"{tag}f2", value=97.0, minutes_ago=3),
        "acked": raise_alert(last, "distress", key=f"{tag}a1"),
        "shelved": raise_alert(last, "severe", key=f"{tag}s1"),
        "returned": raise_alert(last, "watch", key=f"{tag}r1"),
        "closed": raise_alert(last, "severe", key=f"{tag}c1"),
    }
    lifecycle.alert_ack(alert_id=made["acked"].pk, actor="otto")
    lifecycle.alert_shelve(
        alert_id=made["shelved"].pk, until=now + timedelta(hours=2), actor="otto"
    )
    cleared = timezone.now()
    lifecycle.alert_clear(alert=made["returned"], at=cleared, value=None, actor="test", now=cleared)
    lifecycle.alert_ack(alert_id=made["closed"].pk, actor="otto")
    closed = Alert.objects.get(pk=made["closed"].pk)
    cleared = timezone.now()
    lifecycle.alert_clear(alert=closed, at=cleared, value=None, actor="test", now=cleared)
    for name, alert in made.items():
        made[name] = Alert.objects.get(pk=alert.pk)
    return made
