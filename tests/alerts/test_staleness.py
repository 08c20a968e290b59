"""Pass-aware staleness: GEO silence past its grace is stale; a LEO node silent at AOS
alerts; LEO silence outside contacts is LOS, never stale; no_data rules follow passes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ops.alerts.models import Alert, Notification
from ops.alerts.services import staleness
from ops.fleet.models import Spacecraft
from scheduling.models import Contact
from telemetry import services
from telemetry.ingest import Samples
from tests.alerts.conftest import alerts_of, make_rule
from tests.factories import make_station

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def grace(settings: Any) -> Any:
    settings.ALERTS_GEO_STALE_S = 300
    settings.ALERTS_AOS_GRACE_S = 120
    return settings


@pytest.fixture
def fleet_old(fleet: dict[str, Any]) -> dict[str, Any]:
    Spacecraft.objects.update(created_at=NOW - timedelta(days=2))
    return fleet


def hear(node: str, when: datetime, metric: str = "battery_soc") -> None:
    services.telemetry_ingest(
        samples=Samples(nodes=[node], times=[when], metrics=[{metric: 0.5}], where=["s"]),
        now=when + timedelta(seconds=1),
    )


def contact(node: Any, start: datetime, minutes: float = 10) -> Contact:
    station = make_station(f"st-{Contact.objects.count()}")
    return Contact.objects.create(
        spacecraft=node,
        station=station,
        start=start,
        end=start + timedelta(minutes=minutes),
        state_changed_at=start,
    )


def staleness_alerts() -> list[tuple[str, bool]]:
    return list(
        Alert.objects.filter(source="staleness").order_by("id").values_list("dedup_key", "active")
    )


def test_geo_silence_past_its_grace_is_stale_and_clears_when_heard(
    fleet_old: dict[str, Any], grace: Any
) -> None:
    hear("geo-001", NOW - timedelta(seconds=200))
    hear("leo-001", NOW - timedelta(hours=3))  # LEO silent for hours: out of contact
    assert staleness.staleness_check(now=NOW)["raised"] == 0
    later = NOW + timedelta(seconds=101)  # 301 s of GEO silence
    staleness.staleness_check(now=later)
    assert staleness_alerts() == [("stale:geo-001", True)]
    [alert] = Alert.objects.filter(source="staleness")
    assert Notification.objects.get(alert=alert).kind == "firing"
    hear("geo-001", later)
    staleness.staleness_check(now=later + timedelta(seconds=5))
    assert staleness_alerts() == [("stale:geo-001", False)]
    # Silent again before anyone acked: the same (still open) occurrence alarms again.
    staleness.staleness_check(now=later + timedelta(seconds=301))
    assert staleness_alerts() == [("stale:geo-001", True)]
    kinds = list(Notification.objects.filter(alert=alert).values_list("kind", flat=True))
    assert kinds == ["firing", "cleared", "firing"]


def test_aos_without_telemetry_alerts_while_los_silence_does_not(
    fleet_old: dict[str, Any], grace: Any, client_with_token: Callable[..., APIClient]
) -> None:
    quiet, talking = fleet_old["leo-001"], fleet_old["leo-002"]
    hear("geo-001", NOW)
    start = NOW - timedelta(seconds=60)
    contact(quiet, start)
    contact(talking, start)
    hear("leo-002", start + timedelta(seconds=5))
    assert staleness.staleness_check(now=NOW)["raised"] == 0  # within the AOS grace
    at_grace = start + timedelta(seconds=121)
    staleness.staleness_check(now=at_grace)
    assert staleness_alerts() == [("aos:leo-001", True)]
    [alert] = Alert.objects.filter(source="staleness")
    assert "no telemetry at AOS" in alert.summary and alert.started_at == start
    api = client_with_token("operate")
    body = api.get("/api/v1/alerts/visibility", {"at": at_grace.isoformat()}).json()
    status = {row["spacecraft"]: row["status"] for row in body}
    assert status == {"geo-001": "ok", "leo-001": "aos_no_telemetry", "leo-002": "ok"}
    # After LOS the quiet node is silent for hours: LOS, not stale, nothing new raised.
    after = start + timedelta(hours=3)
    hear("geo-001", after - timedelta(seconds=1))  # the hub keeps talking
    staleness.staleness_check(now=after)
    assert staleness_alerts() == [("aos:leo-001", True)]
    body = api.get("/api/v1/alerts/visibility", {"at": after.isoformat()}).json()
    assert {row["spacecraft"]: row["status"] for row in body}["leo-002"] == "los"
    # Telemetry at the next pass clears it.
    hear("leo-001", after)
    staleness.staleness_check(now=after + timedelta(seconds=1))
    assert staleness_alerts() == [("aos:leo-001", False)]


def test_no_data_rules_are_pass_aware_and_clear_on_ingest(
    fleet_old: dict[str, Any], grace: Any
) -> None:
    make_rule(
        "soc-silent",
        metric="battery_soc",
        condition="no_data",
        levels=[],
        no_data_s=60,
        severity="warning",
    )
    hear("geo-001", NOW - timedelta(seconds=30))
    hear("leo-001", NOW - timedelta(hours=1))
    assert staleness.staleness_check(now=NOW)["raised"] == 0
    staleness.staleness_check(now=NOW + timedelta(seconds=40))
    [geo] = alerts_of("soc-silent")
    assert geo.spacecraft == fleet_old["geo-001"] and geo.active
    # LEO: silent for an hour, but out of contact: nothing. In a contact 61 s old: alert.
    contact(fleet_old["leo-001"], NOW - timedelta(seconds=61))
    staleness.staleness_check(now=NOW + timedelta(seconds=41))
    assert sorted(a.spacecraft.slug for a in alerts_of("soc-silent")) == ["geo-001", "leo-001"]
    # Data arriving clears it on the ingest path, at once.
    hear("geo-001", NOW + timedelta(seconds=45))
    geo.refresh_from_db()
    assert not geo.active and geo.cleared_at == NOW + timedelta(seconds=45)
