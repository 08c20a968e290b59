"""Messages the MQTT broker drops never reach ingest: the bridge's broker watch reports
them, and ops.alerts (registered in its ready()) raises one alert for them."""

from __future__ import annotations

import pytest

from ops.alerts.models import Alert, Notification
from telemetry.mqtt.monitor import SYS_DROPPED, SysWatch

pytestmark = pytest.mark.django_db


def test_broker_drops_raise_one_alert_that_later_drops_update() -> None:
    watch = SysWatch()
    watch.update(SYS_DROPPED, b"0")
    assert not Alert.objects.filter(dedup_key__contains="mqtt-broker-drops").exists()

    watch.update(SYS_DROPPED, b"7")  # seven messages lost since the last figure
    alert = Alert.objects.get(dedup_key__contains="mqtt-broker-drops")
    assert alert.severity == "critical"
    assert "dropped 7 message(s)" in alert.summary
    notified = Notification.objects.filter(alert=alert).count()
    assert notified >= 1, "the drop pages like any other alert"

    watch.update(SYS_DROPPED, b"9")  # two more: the same alert, not a new one
    assert Alert.objects.filter(dedup_key__contains="mqtt-broker-drops").count() == 1
    watch.update(SYS_DROPPED, b"9")  # no change: nothing new
    assert Alert.objects.filter(dedup_key__contains="mqtt-broker-drops").count() == 1
