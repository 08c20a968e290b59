from django.apps import AppConfig


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
        registry.periodic("telemetry-rollup", task="telemetry.rollup", every_s=30.0)
        registry.periodic("telemetry-retention", task="telemetry.retention", every_s=3600.0)
        live.register_topics()
