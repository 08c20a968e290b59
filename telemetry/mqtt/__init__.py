"""MQTT ingest: the bridge (``bridge``) and the payload formats it accepts (``payloads``).
See ``bridge`` for the delivery contract."""

from telemetry.mqtt.bridge import (
    DEFAULT_TOPIC,
    DEFAULT_URL,
    BridgeStats,
    Broker,
    MqttBridge,
    default_url,
)
from telemetry.mqtt.payloads import node_level, parse_payload

__all__ = [
    "DEFAULT_TOPIC",
    "DEFAULT_URL",
    "BridgeStats",
    "Broker",
    "MqttBridge",
    "default_url",
    "node_level",
    "parse_payload",
]
