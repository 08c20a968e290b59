"""Zenith's wiring: settings, URLs, ASGI, Celery, health and metrics. It imports no app
internals: apps contribute through the registries in ``zenith.registry``."""

from zenith.celery import app as celery_app

__all__ = ["celery_app"]
