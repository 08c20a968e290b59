"""Notification transports, a module per channel kind (as Healthchecks keeps one folder
per integration): ``webhook`` (JSON, HMAC-SHA256 signed), ``email`` (Django mail),
``console`` (the live topic). Each raises ``TransportError`` and nothing else; the
delivery service retries, backs off and dead-letters.

A new transport: a module here with ``send(target, payload, *, delivery_id, secret)``,
a ``ChannelKind`` value, and a line in ``SENDERS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops.alerts.transports import console, email, webhook

Sender = Callable[..., int | None]

SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,
    "email": email.send,
    "console": console.send,
}


def send(
    transport: str, target: str, payload: dict[str, Any], *, delivery_id: int, secret: str = ""
) -> int | None:
    """Deliver ``payload``; the HTTP status for webhooks, ``None`` otherwise."""
    return SENDERS[transport](target, payload, delivery_id=delivery_id, secret=secret)
