"""MQTT ingest: the bridge (``bridge``), the payload formats it accepts (``payloads``), the
broker's address and shipped configuration (``broker``), the gateways' credentials and the
broker's password and ACL files (``credentials``), and the broker's figures (``monitor``).
See ``bridge`` for the delivery contract."""

from telemetry.mqtt.bridge import DEFAULT_TOPIC, BridgeStats, MqttBridge
from telemetry.mqtt.broker import DEFAULT_URL, Broker, default_url
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
