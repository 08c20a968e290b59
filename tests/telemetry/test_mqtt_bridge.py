"""The MQTT bridge over the real local Mosquitto and database: payloads, acknowledgement,
replay and error reports; then the payload rules, without a broker.

Shared plumbing and fixtures are in ``tests/telemetry/mqtt_support.py``; outages (database,
broker, the ``ingest_mqtt`` command) are in ``test_mqtt_outages.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection

from telemetry.exceptions import InvalidTelemetry, TelemetryError
from telemetry.ingest import Samples
from telemetry.mqtt import Broker, MqttBridge, node_level, parse_payload
from tests.telemetry.conftest import sample_count
from tests.telemetry.mqtt_support import (
    NOW,
    NS,
    Publisher,
    Scope,
    committed,
    json_batch,
    messages_total,
    wait_for,
)

# --- over the broker ------------------------------------------------------------------------


@committed
def test_json_message_stored_once_and_replay_writes_nothing(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    bridge = start_bridge()
    body = json_batch(3)  # samples without "node": the topic's
    publisher.publish(scope.topic("leo-001"), body)
    wait_for(lambda: bridge.stats.stored == 1, "the first message to commit")
    assert sample_count("leo-001") == 6
    publisher.publish(scope.topic("leo-001"), body)
    wait_for(lambda: bridge.stats.stored == 2, "the replay")
    stats = bridge.stats
    assert (stats.written, stats.duplicates, stats.invalid, stats.retried) == (6, 6, 0, 0)
    assert sample_count() == 6


@committed
def test_line_protocol_message(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    bridge = start_bridge()
    body = "\n".join(
        [
            f"node_health,node=leo-002 gpu_temp_c=61i,battery_soc=0.75 {NS}",
            f"node_health battery_soc=0.74 {NS + 1_000_000_000}",  # no node tag: the topic's
            "# a comment line",
            "cpu,host=payload-a usage_user=12.5",  # no timestamp: now
        ]
    )
    before = datetime.now(UTC)
    publisher.publish(scope.topic("leo-002"), body.encode())
    wait_for(lambda: bridge.stats.stored == 1, "the line protocol message to commit")
    assert bridge.stats.written == 4
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.name, s.time FROM telemetry_sample s "
            "JOIN fleet_spacecraft c ON c.id = s.node_id "
            "JOIN telemetry_metric m ON m.id = s.metric_id "
            "WHERE c.slug = 'leo-002' ORDER BY s.time, m.name"
        )
        rows = cursor.fetchall()
    assert [name for name, _ in rows] == [
        "battery_soc",
        "gpu_temp_c",
        "battery_soc",
        "cpu_usage_user",
    ]
    assert rows[0][1] == NOW
    assert rows[3][1] >= before - timedelta(seconds=1)


@committed
def test_invalid_messages_reported_acknowledged_and_not_redelivered(
    start_bridge: Callable[..., MqttBridge], publisher: Publisher, scope: Scope
) -> None:
    publisher.subscribe(f"{scope.prefix}/+/telemetry/errors")
    invalid_before = messages_total("invalid")
    bridge = start_bridge()

    publisher.publish(scope.topic("leo-001"), json_batch(2, node="leo-002"))
    report = publisher.next_message()
    assert report.topic == scope.topic("leo-001") + "/errors"
    assert orjson.loads(report.payload) == {
        "error": "invalid_telemetry",
        "detail": "samples[0].node is 'leo-002' but the topic is for 'leo-001'",
        "fields": {
            "samples[0].node": "is 'leo-002' but the topic is for 'leo-001'",
            "samples[1].node": "is 'leo-002' but the topic is for 'leo-001'",
        },
    }

    publisher.publish(scope.topic("leo-003"), b'node_health gpu_temp_c="hot"')
    report = publisher.next_message()
    assert report.topic == scope.topic("leo-003") + "/errors"
    body = orjson.loads(report.payload)
    assert body["error"] == "invalid_telemetry" and "line 1.gpu_temp_c" in body["fields"]

    publisher.publish(scope.topic("ghost-9"), json_batch(1))
    body = orjson.loads(publisher.next_message().payload)
    assert body["error"] == "unknown_node" and "samples[0].node" in body["fields"]

    wait_for(lambda: bridge.stats.invalid == 3, "three invalid messages")
    assert messages_total("invalid") - invalid_before == 3
    assert sample_count() == 0

    # Acknowledged means gone from the session: a restarted bridge gets only what is new.
    bridge.stop()
    restarted = start_bridge()
    publisher.publish(scope.topic("leo-001"), json_batch(1))
    wait_for(lambda: restarted.stats.stored == 1, "the message after the restart")
    assert restarted.stats.received == 1 and restarted.stats.invalid == 0
    assert sample_count() == 2


# --- payload rules, no broker ---------------------------------------------------------------


def parse(payload: bytes, node: str = "leo-001") -> Samples:
    return parse_payload(payload, node=node, now=NOW, max_points=1000, max_bytes=4096)


def test_json_samples_take_the_topic_node_and_must_match_it() -> None:
    mixed = orjson.loads(json_batch(2))
    mixed["samples"][1]["node"] = "leo-001"
    assert parse(orjson.dumps(mixed)).nodes == ["leo-001", "leo-001"]
    mixed["samples"][0]["node"] = "leo-002"
    with pytest.raises(InvalidTelemetry) as refused:
        parse(orjson.dumps(mixed))
    assert refused.value.fields == {
        "samples[0].node": "is 'leo-002' but the topic is for 'leo-001'"
    }


def test_lines_take_the_topic_node_and_keep_their_numbers() -> None:
    body = f"\n# c\nnode_health gpu_temp_c=1 {NS}\nnode_health,node=leo-001 gpu_temp_c=2 {NS + 1}"
    samples = parse(body.encode())
    assert samples.nodes == ["leo-001", "leo-001"] and samples.where == ["line 3", "line 4"]
    with pytest.raises(InvalidTelemetry) as refused:
        parse(f'\nnode_health gpu_temp_c=1\nnode_health up="yes" {NS}'.encode())
    assert refused.value.fields == {"line 3.up": "must be a number or boolean, not a string"}
    with pytest.raises(InvalidTelemetry) as foreign:
        parse(b"node_health,node=leo-009 gpu_temp_c=1")
    assert foreign.value.fields == {"line 1.node": "is 'leo-009' but the topic is for 'leo-001'"}


@pytest.mark.parametrize(
    ("payload", "node", "code"),
    [
        (b"{not json", "leo-001", "invalid_telemetry"),
        (b"x" * 5000, "leo-001", "body_too_large"),
        (b"node_health gpu_temp_c=1", "", "invalid_telemetry"),
        (b"", "leo-001", "invalid_telemetry"),
    ],
)
def test_refused_payloads(payload: bytes, node: str, code: str) -> None:
    with pytest.raises(TelemetryError) as refused:
        parse(payload, node=node)
    assert refused.value.code == code


def test_topic_filters_and_broker_urls() -> None:
    assert node_level("zenith/+/telemetry") == 1
    assert node_level("$share/ingest/zenith/+/telemetry") == 1
    for bad in ("zenith/#", "zenith/+/+/telemetry", "zenith/leo-001/telemetry"):
        with pytest.raises(ValueError, match="exactly one"):
            node_level(bad)
    assert Broker.from_url("mqtt://127.0.0.1") == Broker("127.0.0.1", 1883)
    assert Broker.from_url("mqtts://u:p%40ss@broker.example:8884") == Broker(
        "broker.example", 8884, tls=True, username="u", password="p@ss"
    )
    for bad in ("http://x", "mqtt://", "mqtt://host:port"):
        with pytest.raises(ValueError, match="broker URL"):
            Broker.from_url(bad)
