from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "ops.console"
    label = "console"
    verbose_name = "Operator console"

    def ready(self) -> None:
        from ops.console.consumers import CONSOLE
        from ops.console.routing import websocket_urlpatterns
        from zenith import registry

        registry.live_topic(CONSOLE)
        registry.websocket_routes(websocket_urlpatterns)
