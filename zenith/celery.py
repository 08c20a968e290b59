"""The Celery app. Tasks live in each app's ``tasks.py`` and are found by autodiscovery."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zenith.settings")

app = Celery("zenith")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _ensure_broker_dirs(**_: Any) -> None:
    """The filesystem transport (embedded mode) needs its folders before it polls."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = options.get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


@app.task(name="zenith.ping", time_limit=10, acks_late=True)
def ping(token: str) -> str:
    """Round trip used by /healthz-style checks and the worker smoke test."""
    return f"pong:{token}"
