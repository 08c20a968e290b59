from typing import Any

from django.apps import AppConfig


def _mqtt_health() -> dict[str, Any]:
    from telemetry.mqtt.monitor import broker_health

    return broker_health()


class TelemetryConfig(AppConfig):
    name = "telemetry"
    verbose_name = "Telemetry"

    def ready(self) -> None:
        from django.conf import settings

        from telemetry import live
        from telemetry.sinks import sink_health
        from zenith import registry

        # The mirror never affects the primary write, so it never fails the probe either.
        registry.health_check(
            "influxdb_sink",
            sink_health,
            required=False,
            when=lambda: bool(settings.INFLUXDB_URL),
        )
        # The broker and its bridges (queue depth, drops), as read from the broker; another
        # process's state, so reported but never failing the web server's probe.
        registry.health_check(
            "mqtt",
            _mqtt_health,
            required=False,
            when=lambda: bool(settings.MQTT_MONITOR),
        )
        if settings.MQTT_MONITOR:
            from prometheus_client import REGISTRY

            from telemetry.mqtt.monitor import BrokerCollector, broker_figures

            REGISTRY.register(BrokerCollector(broker_figures))
        registry.periodic("telemetry-rollup", task="telemetry.rollup", every_s=30.0)
        registry.periodic("telemetry-retention", task="telemetry.retention", every_s=3600.0)
        live.register_topics()
