"""ASGI entry point: HTTP through Django, WebSockets through Channels (the routes apps
registered in ``zenith.registry``)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zenith.settings")
# Tells settings to pool database connections (see DATABASES there); removed again so
# processes started from this one (commands, test servers) decide for themselves.
_previous = os.environ.get("ZENITH_ASGI_SERVER")
os.environ["ZENITH_ASGI_SERVER"] = "1"
try:
    django_asgi_app = get_asgi_application()
finally:
    if _previous is None:
        os.environ.pop("ZENITH_ASGI_SERVER", None)
    else:
        os.environ["ZENITH_ASGI_SERVER"] = _previous

# Imported after Django is set up: the routing imports models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from zenith import registry  # noqa: E402
from zenith.bodylimit import BodyLimitMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(registry.websocket_patterns()))
        ),
    }
)
