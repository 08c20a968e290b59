"""Console transport: the notification goes to every console on the ``alerts`` topic."""

from __future__ import annotations

from typing import Any

from ops.alerts import live


def send(target: str, payload: dict[str, Any], *, delivery_id: int, secret: str = "") -> None:
    live.publish_notification({"delivery": delivery_id, **payload})
