"""Outbox rows: written in the transaction that changed the alert, so a notification
exists exactly when the change committed. Workers fan them out (``services.notify``);
entry points wake one after the commit (``tasks.dispatch_soon``), and beat sweeps anyway."""

from __future__ import annotations

from datetime import datetime

from ops.alerts.models import Alert, Notification


def notification_enqueue(
    *, alert: Alert, kind: str, now: datetime, step: int = 0, due_at: datetime | None = None
) -> Notification:
    return Notification.objects.create(
        alert=alert, kind=kind, step=step, created_at=now, due_at=due_at or now
    )
