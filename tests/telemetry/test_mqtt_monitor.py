"""Loss made loud: a bridge's session queue overflowing on a private Mosquitto (Zenith's
configuration with a tiny ``max_queued_bytes``) shows as drops in the bridge's figures, the
drop listeners, ``/metrics`` and ``/healthz``; a healthy broker shows its queue depth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from prometheus_client import CollectorRegistry, generate_latest
from rest_framework.test import APIClient

from ops.fleet import services as fleet
from telemetry.mqtt import MqttBridge
from telemetry.mqtt.monitor import (
    BrokerCollector,
    BrokerFigures,
    BrokerReading,
    SysWatch,
    broker_figures,
    register_drop_listener,
    summarize,
    unregister_drop_listener,
)
from tests.telemetry.conftest import sample_count
from tests.telemetry.mqtt_private import ZENITH_TOPIC, Gateway, ZenithBroker, read
from tests.telemetry.mqtt_support import WAIT_S, committed, json_batch, wait_for

QUEUE_BYTES = 20_000
MESSAGES = 60


@pytest.fixture
def small_queue_broker(tmp_path: Path) -> Iterator[ZenithBroker]:
    broker = ZenithBroker(
        tmp_path, overrides={"max_queued_bytes": str(QUEUE_BYTES), "sys_interval": "1"}
    )
    yield broker
    broker.stop()


@pytest.fixture
def drops() -> Iterator[list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []
    register_drop_listener("test", lambda dropped, total: seen.append((dropped, total)))
    yield seen
    unregister_drop_listener("test")


def _health(client: APIClient, broker: ZenithBroker) -> dict[str, Any]:
    """The ``mqtt`` check of ``/healthz`` as an admin sees it (cached up to 5 s)."""
    with override_settings(MQTT_MONITOR=True, MQTT_URL=broker.url, MQTT_TOPIC=ZENITH_TOPIC):
        response = client.get("/healthz")
    check: dict[str, Any] = response.json()["checks"]["mqtt"]
    return check


@committed
def test_a_full_queue_drops_and_every_channel_says_so(
    no_samples: None,
    nodes: list[Any],
    small_queue_broker: ZenithBroker,
    drops: list[tuple[int, int]],
    admin_api: APIClient,
) -> None:
    account = fleet.service_account_get_or_create(name="gw")
    gateway_token = fleet.token_create(account=account, name="gw", scopes=["ingest"]).token
    broker = small_queue_broker.start()

    def bridge() -> MqttBridge:
        running = MqttBridge(
            url=broker.url, topic=ZENITH_TOPIC, client_id="zenith-test-drops", backoff_s=(0.05, 0.4)
        )
        running.start()
        assert running.wait_ready(WAIT_S)
        return running

    first = bridge()
    wait_for(lambda: first.broker_figures() is not None, "the broker's figures")
    wait_for(lambda: first.sys.figures.dropped_total is not None, "the dropped count")
    first.stop()  # away: its session (and subscription) stays, the broker queues for it

    gateway = Gateway.for_token(broker.url, gateway_token)
    assert not gateway.connect().refused
    body = json_batch(40)  # ~3.5 KB: the queue holds about five
    mids = [gateway.publish("zenith/leo-001/telemetry", body) for _ in range(MESSAGES)]
    # The publisher is told every message was delivered...
    assert not any(reason.is_failure for reason in gateway.wait_acks(mids))
    gateway.close()

    second = bridge()
    try:
        # ...but the broker dropped most of them: the bridge sees it in $SYS and says so.
        wait_for(lambda: bool(drops), "the drops to be seen", timeout=15)
        wait_for(lambda: second.stats.stored > 0, "the queued messages to be stored")
        dropped = second.sys.figures.dropped_total
        assert dropped is not None and dropped + second.stats.stored == MESSAGES
        assert sum(n for n, _ in drops) == dropped and drops[-1][1] == dropped

        registry = CollectorRegistry()
        registry.register(BrokerCollector(second.broker_figures))
        metrics = generate_latest(registry).decode()
        assert f"zenith_mqtt_broker_dropped_messages_total {float(dropped)}" in metrics
        assert "zenith_mqtt_broker_up 1.0" in metrics

        # /healthz of another process reads the broker and the bridge's status.
        wait_for(
            lambda: "dropped" in _health(admin_api, broker).get("error", ""),
            "/healthz to report the drops",
            timeout=20,
        )
        health = _health(admin_api, broker)
        assert health["ok"] is False and health["required"] is False
        assert health["dropped_total"] == dropped and health["dropped_recently"] == dropped
        assert health["bridges"]["zenith-test-drops"]["state"] == "online"
    finally:
        second.stop()
    assert sample_count("leo-001") == second.stats.written
    # Stopped cleanly: no bridge online is a problem /healthz names too.
    wait_for(
        lambda: "no MQTT bridge online" in _health(admin_api, broker).get("error", ""),
        "/healthz to see the bridge gone",
        timeout=20,
    )
    # A restarted bridge does not report the same drops again (its status kept the count).
    third = bridge()
    try:
        wait_for(lambda: third.sys.figures.dropped_total == dropped, "the figures")
        assert third.sys.dropped_recently() == 0
    finally:
        third.stop()


@committed
def test_a_healthy_broker_reports_its_queue(
    no_samples: None, nodes: list[Any], tmp_path: Path, admin_api: APIClient
) -> None:
    broker = ZenithBroker(tmp_path, overrides={"sys_interval": "1"}).start()
    running = MqttBridge(url=broker.url, topic=ZENITH_TOPIC, client_id="zenith-test-healthy")
    try:
        running.start()
        assert running.wait_ready(WAIT_S)
        wait_for(lambda: _health(admin_api, broker)["ok"], "a healthy report", timeout=20)
        health = _health(admin_api, broker)
        assert health["dropped_total"] == 0 and health["dropped_recently"] == 0
        assert isinstance(health["queued_messages"], int)
        assert health["bridges"]["zenith-test-healthy"]["state"] == "online"
        assert read(broker).figures.dropped_total == 0
        # /metrics of a process without a bridge (the web server, MQTT_MONITOR on).
        registry = CollectorRegistry()
        registry.register(BrokerCollector(broker_figures))
        with override_settings(MQTT_URL=broker.url, MQTT_TOPIC=ZENITH_TOPIC):
            metrics = generate_latest(registry).decode()
        assert "zenith_mqtt_broker_up 1.0" in metrics
        assert "zenith_mqtt_broker_dropped_messages_total 0.0" in metrics
        assert "zenith_mqtt_broker_queued_messages " in metrics
    finally:
        running.stop()
        broker.stop()
    wait_for(
        lambda: "Connection refused" in _health(admin_api, broker).get("error", ""),
        "/healthz to see the broker gone",
        timeout=20,
    )


def test_figures_and_summaries_without_a_broker() -> None:
    watch = SysWatch()
    watch.update("$SYS/broker/publish/messages/dropped", b"0")
    watch.update("$SYS/broker/publish/messages/dropped", b"7")
    watch.update("$SYS/broker/publish/messages/dropped", b"3")  # a broker restart
    watch.update("$SYS/broker/store/messages/count", b"not a number")
    assert watch.dropped_recently() == 10 and watch.figures.dropped_total == 3
    quiet = SysWatch(report_drops=False)
    quiet.update("$SYS/broker/publish/messages/dropped", b"7")
    assert quiet.dropped_recently() == 0
    down = summarize(BrokerReading(False, error="ConnectionRefusedError"))
    assert down == {"ok": False, "error": "ConnectionRefusedError"}
    stale = summarize(
        BrokerReading(
            True,
            BrokerFigures(1, 100, 0),
            {"b1": {"state": "online", "at": "2020-01-01T00:00:00+00:00"}},
        )
    )
    assert stale["ok"] is False and stale["bridges"]["b1"]["state"] == "stale"
    registry = CollectorRegistry()
    registry.register(BrokerCollector(lambda: None))
    assert "zenith_mqtt_broker_up 0.0" in generate_latest(registry).decode()
