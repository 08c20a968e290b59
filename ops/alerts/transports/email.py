"""E-mail transport: Django mail over SMTP to ``ALERTS_EMAIL_HOST``."""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from ops.alerts.exceptions import TransportError


def send(address: str, payload: dict[str, Any], *, delivery_id: int, secret: str = "") -> None:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=settings.ALERTS_EMAIL_HOST,
        port=settings.ALERTS_EMAIL_PORT,
        username=settings.ALERTS_EMAIL_USER or None,
        password=settings.ALERTS_EMAIL_PASSWORD or None,
        use_tls=settings.ALERTS_EMAIL_USE_TLS,
        timeout=settings.ALERTS_WEBHOOK_TIMEOUT_S,
        fail_silently=False,
    )
    message = EmailMessage(
        subject=str(payload.get("subject", "Zenith alert")),
        body=str(payload.get("text", "")),
        from_email=settings.ALERTS_EMAIL_FROM,
        to=[address],
        headers={"X-Zenith-Delivery": str(delivery_id)},
        connection=connection,
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"SMTP to {address}: {exc}") from None
