"""The one writer of the audit log (append-only: the database refuses anything else)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ops.alerts.models import Alert, AuditEntry


def audit_record(
    *,
    at: datetime,
    actor: str,
    action: str,
    alert: Alert | None = None,
    rule_key: str = "",
    spacecraft: str = "",
    comment: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    if alert is not None:
        rule_key = rule_key or alert.rule_key
        if not spacecraft and alert.spacecraft is not None:
            spacecraft = alert.spacecraft.slug
    return AuditEntry.objects.create(
        at=at,
        actor=actor or "unknown",
        action=action,
        alert_id=alert.pk if alert is not None else None,
        rule_key=rule_key,
        spacecraft=spacecraft,
        comment=comment,
        detail=detail or {},
    )
