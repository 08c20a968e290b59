from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "ops.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from ops.alerts import hooks, live
        from ops.alerts.selectors.notify import outbox_health
        from telemetry.mqtt.monitor import register_drop_listener
        from telemetry.observers import register_ingest_observer
        from zenith import registry

        register_ingest_observer("ops.alerts", hooks.on_ingest)
        # Messages the MQTT broker drops never reach ingest: the bridge reports them here.
        register_drop_listener("ops.alerts", hooks.on_broker_drops)
        live.register_topics()
        # A stalled notifier must not take the web servers out of rotation: informational.
        registry.health_check("alerts_notifier", outbox_health, required=False)
        # Task names, not task objects: a web process need not import the tasks.
        registry.periodic(
            "alerts.dispatch", task="alerts.dispatch", every_s=settings.ALERTS_DISPATCH_EVERY_S
        )
        registry.periodic(
            "alerts.escalate", task="alerts.escalate", every_s=settings.ALERTS_ESCALATE_EVERY_S
        )
        registry.periodic(
            "alerts.staleness", task="alerts.staleness", every_s=settings.ALERTS_STALENESS_EVERY_S
        )
