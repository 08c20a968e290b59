"""Alert test helpers: a small fleet, rules made through the services, ingest at a
controlled time (``now``), and the audit of one alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops.alerts.models import Alert, AuditEntry, Notification, Rule
from ops.alerts.services import rules as rule_services
from ops.alerts.services import ruleset
from telemetry import registry, services
from telemetry.ingest import Samples
from tests.factories import make_spacecraft

# Recent enough for the ingest window of the real clock, fixed to the second.
T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    registry.clear_caches()
    ruleset.forget()
    yield
    registry.clear_caches()
    ruleset.forget()


@pytest.fixture
def fleet(db: Any) -> dict[str, Any]:
    return {
        "leo-001": make_spacecraft("leo-001"),
        "leo-002": make_spacecraft("leo-002"),
        "geo-001": make_spacecraft("geo-001", role="geo"),
    }


def make_rule(key: str = "gpu-hot", **values: Any) -> Rule:
    base: dict[str, Any] = {
        "name": key.replace("-", " ").title(),
        "metric": "gpu_temp_c",
        "condition": "above",
        "levels": [{"severity": "warning", "high": 80.0}],
    }
    base.update(values)
    return rule_services.rule_create(key=key, values=base, actor="test")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ingest(
    node: str,
    points: list[tuple[float, float]],
    metric: str = "gpu_temp_c",
    *,
    now: datetime | None = None,
) -> services.IngestResult:
    """Samples ``(second, value)`` of one metric; ``now`` defaults to just after the last."""
    samples = Samples(
        nodes=[node] * len(points),
        times=[at(s) for s, _ in points],
        metrics=[{metric: float(v)} for _, v in points],
        where=[f"samples[{i}]" for i in range(len(points))],
    )
    when = now or at(max(s for s, _ in points) + 1)
    return services.telemetry_ingest(samples=samples, now=when)


def alerts_of(rule_key: str) -> list[Alert]:
    return list(Alert.objects.filter(rule_key=rule_key).order_by("id"))


def outbox(alert: Alert) -> list[str]:
    return list(
        Notification.objects.filter(alert=alert).order_by("id").values_list("kind", flat=True)
    )


def audit_actions(alert: Alert) -> list[str]:
    return list(
        AuditEntry.objects.filter(alert_id=alert.pk).order_by("id").values_list("action", flat=True)
    )
