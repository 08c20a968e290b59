from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "telemetry"
    verbose_name = "Telemetry"

    def ready(self) -> None:
        from ops.fleet.apiutils import register_domain_error
        from telemetry.exceptions import TelemetryError

        register_domain_error(TelemetryError)
