"""Zenith: the Django project and the operations domain."""

from ops.celery import app as celery_app

__all__ = ["celery_app"]
