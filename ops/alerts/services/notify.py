"""Fan-out: outbox rows become deliveries, one per channel or person.

A worker locks due outbox rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and, in that same
transaction, decides who hears about each (the escalation policy's step, on-call
schedules resolved now, or the default channels), writes a delivery per target and marks
the row processed. Two workers take different rows; a worker that dies rolls back and
its rows are taken again. Nothing here touches the network (``services.delivery`` does).

Suppression keeps the record and tells nobody: a shelved alert, an alert about a station
in maintenance (or a spacecraft whose current contact is with one), and "silence"
alerts (staleness, ``no_data``, external sources) about a LEO node during planned loss
of signal (no booked contact now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from ops.alerts import live
from ops.alerts.models import (
    Alert,
    AlertState,
    Channel,
    Delivery,
    EscalationStep,
    Notification,
    NotificationKind,
    Source,
)
from ops.alerts.selectors import notify as notify_selectors
from ops.alerts.services.audit import audit_record
from ops.fleet.models import MaintenanceWindow, Role
from scheduling.models import ACTIVE_CONTACT_STATES, Contact

ACTOR = "notifier"
_PAGING = (NotificationKind.FIRING, NotificationKind.ESCALATION, NotificationKind.SHELVE_EXPIRED)


@dataclass(frozen=True, slots=True)
class Target:
    transport: str
    target: str
    channel: Channel | None = None


def outbox_fan_out(*, now: datetime, limit: int = 200) -> int:
    """Fan out up to ``limit`` due outbox rows; how many were processed."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("alert", "alert__spacecraft", "alert__rule", "alert__escalation_policy")
            .filter(processed_at__isnull=True, due_at__lte=now)
            .order_by("id")[:limit]
        )
        for notification in rows:
            _fan_out(notification, now)
    return len(rows)


def _fan_out(notification: Notification, now: datetime) -> None:
    alert = notification.alert
    reason = suppression_reason(alert=alert, kind=notification.kind, now=now)
    notification.processed_at = now
    if reason:
        notification.suppressed = reason
        notification.save(update_fields=["processed_at", "suppressed"])
        audit_record(
            at=now,
            actor=ACTOR,
            action="notification.suppressed",
            alert=alert,
            detail={"kind": notification.kind, "reason": reason, "notification": notification.pk},
        )
        return
    steps = _steps(alert)
    step = steps[notification.step] if steps and notification.step < len(steps) else None
    targets = _targets(step, now) if step is not None else _default_targets()
    for target in targets:
        Delivery.objects.create(
            notification=notification,
            channel=target.channel,
            transport=target.transport,
            target=target.target,
            next_attempt_at=now,
            created_at=now,
        )
    notification.save(update_fields=["processed_at"])
    if notification.kind in _PAGING and steps and alert.state == AlertState.UNACKNOWLEDGED:
        # The step has been sent: the next one is due after its wait, unless acked first.
        alert.escalation_step = notification.step
        if notification.kind != NotificationKind.ESCALATION:
            alert.escalation_step, alert.escalation_round = 0, 0
        current = steps[alert.escalation_step]
        alert.next_escalation_at = now + timedelta(minutes=current.wait_min)
        alert.save(update_fields=["escalation_step", "escalation_round", "next_escalation_at"])
    audit_record(
        at=now,
        actor=ACTOR,
        action="notification.queued",
        alert=alert,
        detail={
            "kind": notification.kind,
            "step": notification.step,
            "targets": [f"{t.transport}:{t.target}" for t in targets],
        },
    )


def suppression_reason(*, alert: Alert, kind: str, now: datetime) -> str:
    """Why nobody should hear about ``alert`` now; empty when they should."""
    if alert.shelved_until is not None and alert.shelved_until > now:
        return f"shelved until {alert.shelved_until.isoformat()}"
    if kind in _PAGING and alert.state != AlertState.UNACKNOWLEDGED:
        return f"{alert.state} before it was sent"
    station = str((alert.details or {}).get("labels", {}).get("station", "")) or str(
        (alert.details or {}).get("station", "")
    )
    windows = MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if station and windows.filter(station__slug=station).exists():
        return f"maintenance at {station}"
    if alert.spacecraft_id is None:
        return ""
    contacts = Contact.objects.filter(
        spacecraft_id=alert.spacecraft_id,
        state__in=ACTIVE_CONTACT_STATES,
        start__lte=now,
        end__gt=now,
    )
    busy = windows.filter(station_id__in=contacts.values("station_id")).first()
    if busy is not None:
        return f"maintenance at {busy.station.slug}"
    silence = alert.source != Source.RULE or bool(alert.rule and alert.rule.condition == "no_data")
    if (
        silence
        and alert.spacecraft is not None
        and alert.spacecraft.role == Role.LEO
        and alert.source != Source.STALENESS
        and not contacts.exists()
    ):
        return "planned loss of signal (no contact now)"
    return ""


def _steps(alert: Alert) -> list[EscalationStep]:
    if alert.escalation_policy_id is None:
        return []
    return list(
        EscalationStep.objects.filter(policy_id=alert.escalation_policy_id)
        .select_related("channel", "schedule")
        .order_by("order")
    )


def _default_targets() -> list[Target]:
    channels = Channel.objects.filter(is_default=True, enabled=True).order_by("name")
    return [t for channel in channels for t in _channel_targets(channel)]


def _channel_targets(channel: Channel) -> list[Target]:
    if channel.kind == "email":
        return [Target("email", str(address), channel) for address in channel.emails]
    if channel.kind == "webhook":
        return [Target("webhook", channel.url, channel)]
    return [Target("console", "console", channel)]


def _targets(step: EscalationStep, now: datetime) -> list[Target]:
    found: list[Target] = []
    if step.channel is not None and step.channel.enabled:
        found.extend(_channel_targets(step.channel))
    people = [str(u) for u in step.usernames]
    if step.schedule is not None:
        on_call = notify_selectors.oncall_at(schedule=step.schedule, at=now).username
        if on_call:
            people.append(on_call)
    addresses = notify_selectors.emails_of(people)
    for username in dict.fromkeys(people):
        if username in addresses:
            found.append(Target("email", addresses[username]))
    return found


def payload(notification: Notification, delivery: Delivery) -> dict[str, Any]:
    """What every transport sends (the e-mail uses ``subject`` and ``text``)."""
    alert = notification.alert
    node = alert.spacecraft.slug if alert.spacecraft is not None else ""
    headline = {
        NotificationKind.FIRING: "FIRING",
        NotificationKind.ESCALATION: f"ESCALATED (step {notification.step + 1})",
        NotificationKind.SEVERITY_RAISED: "SEVERITY RAISED",
        NotificationKind.CLEARED: "CLEARED",
        NotificationKind.BACKLOG: "HAPPENED DURING LOS, ALREADY CLEARED",
        NotificationKind.SHELVE_EXPIRED: "SHELVE EXPIRED, STILL FIRING",
    }.get(NotificationKind(notification.kind), notification.kind)
    subject = f"[{alert.severity.upper()}] {headline}: {alert.summary}"[:250]
    lines = [
        alert.summary,
        f"severity: {alert.severity}   state: {alert.state}",
        f"spacecraft: {node or '-'}   metric: {alert.metric or '-'}   value: {alert.value}",
        f"started: {alert.started_at.isoformat()}",
    ]
    if alert.cleared_at:
        lines.append(f"cleared: {alert.cleared_at.isoformat()}")
    if alert.runbook_url:
        lines.append(f"runbook: {alert.runbook_url}")
    lines.append(f"acknowledge: POST /api/v1/alerts/{alert.pk}/ack")
    return {
        "delivery": delivery.pk,
        "kind": notification.kind,
        "step": notification.step,
        "subject": subject,
        "text": "\n".join(lines),
        "alert": live.alert_payload(alert) | {"spacecraft": node},
    }
