"""Webhook transport: POST the JSON payload, signed.

Headers: ``X-Zenith-Delivery`` (the delivery id: the same on every retry, so receivers can
drop duplicates), ``X-Zenith-Timestamp`` (Unix seconds) and ``X-Zenith-Signature:
v1=<hex>``, the HMAC-SHA256 with the channel's secret over ``<timestamp>.<body>`` (the
timestamp is signed so a captured request cannot be replayed later: receivers should
refuse timestamps older than a few minutes; ``verify`` does both checks).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from typing import Any

import orjson
from django.conf import settings

from ops.alerts.exceptions import TransportError

USER_AGENT = "zenith-alerts/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature_header: str,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    expected = signature(secret, timestamp, body)
    return age <= tolerance_s and hmac.compare_digest(expected, signature_header)


def send(url: str, payload: dict[str, Any], *, delivery_id: int, secret: str = "") -> int:
    body = orjson.dumps(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Zenith-Delivery": str(delivery_id),
        "X-Zenith-Timestamp": timestamp,
    }
    if secret:
        headers["X-Zenith-Signature"] = signature(secret, timestamp, body)
    if not url.startswith(("http://", "https://")):
        raise TransportError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(  # noqa: S310 - http(s) only, checked above
            request, timeout=settings.ALERTS_WEBHOOK_TIMEOUT_S
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise TransportError(f"HTTP {exc.code} from {url}", status_code=exc.code) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(f"{url}: {reason}") from None
