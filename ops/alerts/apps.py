from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "ops.alerts"
    label = "alerts"
    verbose_name = "Alerts"
