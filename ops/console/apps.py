from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "ops.console"
    label = "console"
    verbose_name = "Operator console"
