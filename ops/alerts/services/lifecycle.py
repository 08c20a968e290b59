"""Alert lifecycle (ISA-18.2 as Yamcs implements it) and the people's actions.

The evaluation and the other sources call ``alert_open``, ``alert_worsen`` and
``alert_clear``; people call ``alert_ack``, ``alert_unack``, ``alert_shelve``,
``alert_unshelve``, ``alert_reset`` and ``alert_assign``, each with a comment. Every change
is audited and published to consoles after commit; the ones worth telling people about
write an outbox row in the same transaction.

Rules that matter to the person on call: an ack lasts until the alert clears (clearing an
acknowledged alert closes it; a new crossing is a new occurrence and pages again); a worse
value raises the severity of the same occurrence and says so, ack or not; an alert that
clears before anyone acked it stays "returned" until acked; a latching rule's occurrence
stays "latched" after it clears until someone resets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops.alerts import live
from ops.alerts.exceptions import InvalidRequest, NotFound, WrongState
from ops.alerts.models import (
    SEVERITY_RANK,
    Alert,
    AlertState,
    NotificationKind,
    Rule,
    RuleState,
)
from ops.alerts.services.audit import audit_record
from ops.alerts.services.outbox import notification_enqueue


@dataclass(frozen=True, slots=True)
class Opening:
    """What a source knows about a new occurrence."""

    source: str
    severity: str
    summary: str
    started_at: datetime
    spacecraft_id: int | None = None
    rule: Rule | None = None
    metric: str = ""
    value: float | None = None
    dedup_key: str = ""
    details: dict[str, Any] | None = None
    runbook_url: str = ""
    escalation_policy_id: int | None = None
    cleared_at: datetime | None = None  # set: it began and ended out of sight (backlog)


def alert_open(*, opening: Opening, actor: str, now: datetime) -> Alert:
    """Record a new occurrence; page for it unless it has already cleared (a backlog
    occurrence: recorded with its own times, noticed per the rule's LOS policy)."""
    rule = opening.rule
    backlog = opening.cleared_at is not None
    latching = bool(rule and rule.latching)
    if backlog:
        state = AlertState.LATCHED if latching else AlertState.RETURNED
    else:
        state = AlertState.UNACKNOWLEDGED
    alert = Alert.objects.create(
        source=opening.source,
        rule=rule,
        rule_key=rule.key if rule else "",
        dedup_key=opening.dedup_key,
        spacecraft_id=opening.spacecraft_id,
        metric=opening.metric,
        summary=opening.summary[:1024],
        details=opening.details or {},
        severity=opening.severity,
        state=state,
        active=not backlog,
        value=opening.value,
        started_at=opening.started_at,
        cleared_at=opening.cleared_at,
        raised_at=now,
        updated_at=now,
        backlog=backlog,
        runbook_url=opening.runbook_url or (rule.runbook_url if rule else ""),
        escalation_policy_id=(
            opening.escalation_policy_id
            if opening.escalation_policy_id is not None
            else (rule.escalation_policy_id if rule else None)
        ),
    )
    audit_record(
        at=now,
        actor=actor,
        action="alert.backlog" if backlog else "alert.raised",
        alert=alert,
        detail={
            "severity": alert.severity,
            "started_at": alert.started_at.isoformat(),
            "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
            "value": alert.value,
            "metric": alert.metric,
        },
    )
    if not backlog:
        notification_enqueue(alert=alert, kind=NotificationKind.FIRING, now=now)
    elif rule is None or rule.los_policy == "notify":
        notification_enqueue(alert=alert, kind=NotificationKind.BACKLOG, now=now)
    live.publish_alert(alert)
    return alert


def alert_worsen(
    *,
    alert: Alert,
    severity: str,
    value: float | None,
    at: datetime,
    actor: str,
    now: datetime,
    summary: str | None = None,
) -> Alert:
    """A worse value: the same occurrence, a higher severity (and the summary saying so),
    and a notification."""
    if SEVERITY_RANK[severity] <= SEVERITY_RANK[alert.severity]:
        return alert
    before = alert.severity
    alert.severity = severity
    alert.value = value if value is not None else alert.value
    if summary:
        alert.summary = summary[:1024]
    alert.updated_at = now
    alert.save(update_fields=["severity", "value", "summary", "updated_at"])
    audit_record(
        at=now,
        actor=actor,
        action="alert.severity_raised",
        alert=alert,
        detail={"from": before, "to": severity, "at": at.isoformat(), "value": value},
    )
    notification_enqueue(alert=alert, kind=NotificationKind.SEVERITY_RAISED, now=now)
    live.publish_alert(alert)
    return alert


def alert_clear(
    *, alert: Alert, at: datetime, value: float | None, actor: str, now: datetime
) -> Alert:
    """The condition no longer holds (or the source resolved it)."""
    if not alert.active:
        return alert
    latching = bool(alert.rule and alert.rule.latching)
    alert.active = False
    alert.cleared_at = at
    alert.updated_at = now
    alert.next_escalation_at = None
    if latching:
        alert.state = AlertState.LATCHED
    elif alert.state == AlertState.ACKNOWLEDGED:
        alert.state = AlertState.NORMAL
    else:
        alert.state = AlertState.RETURNED
    alert.save(update_fields=["active", "cleared_at", "updated_at", "next_escalation_at", "state"])
    audit_record(
        at=now,
        actor=actor,
        action="alert.cleared",
        alert=alert,
        detail={"at": at.isoformat(), "value": value, "state": alert.state},
    )
    notification_enqueue(alert=alert, kind=NotificationKind.CLEARED, now=now)
    live.publish_alert(alert)
    return alert


def alert_reactivate(
    *, alert: Alert, severity: str, value: float | None, at: datetime, actor: str, now: datetime
) -> Alert:
    """An occurrence that is still open but no longer active (latched and never reset, or
    returned and never acknowledged) alarms again: it is active again, needs an ack again,
    and pages again (ISA-18.2: a returned alarm that re-alarms is unacknowledged again)."""
    alert.active = True
    alert.cleared_at = None
    alert.state = AlertState.UNACKNOWLEDGED
    alert.acked_at, alert.acked_by = None, ""
    if SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
        alert.severity = severity
    alert.value = value if value is not None else alert.value
    alert.updated_at = now
    alert.escalation_step, alert.escalation_round = 0, 0
    alert.save()
    audit_record(
        at=now, actor=actor, action="alert.reactivated", alert=alert, detail={"at": at.isoformat()}
    )
    notification_enqueue(alert=alert, kind=NotificationKind.FIRING, now=now)
    live.publish_alert(alert)
    return alert


# --- people's actions ---------------------------------------------------------------------


def _locked(alert_id: int, allowed_spacecraft_ids: frozenset[int] | None) -> Alert:
    qs = Alert.objects.select_for_update(of=("self",)).select_related("rule", "spacecraft")
    alert = qs.filter(pk=alert_id).first()
    if alert is None or (
        allowed_spacecraft_ids is not None and alert.spacecraft_id not in allowed_spacecraft_ids
    ):
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


def _done(
    alert: Alert, *, actor: str, action: str, comment: str, now: datetime, **detail: Any
) -> Alert:
    alert.updated_at = now
    alert.save()
    audit_record(at=now, actor=actor, action=action, alert=alert, comment=comment, detail=detail)
    live.publish_alert(alert)
    return alert


def alert_ack(
    *,
    alert_id: int,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Alert:
    """Acknowledge: stops escalation; lasts until the alert clears (then it closes)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.state == AlertState.UNACKNOWLEDGED:
            alert.state = AlertState.ACKNOWLEDGED
        elif alert.state == AlertState.RETURNED:
            alert.state = AlertState.NORMAL
        elif alert.state == AlertState.LATCHED and alert.acked_at is None:
            pass  # acknowledged, still latched: a reset closes it
        else:
            raise WrongState(
                f"alert {alert_id} is {alert.state}: nothing to acknowledge",
                fields={"state": alert.state},
            )
        alert.acked_at, alert.acked_by = now, actor
        alert.next_escalation_at = None
        return _done(alert, actor=actor, action="alert.acknowledged", comment=comment, now=now)


def alert_unack(
    *,
    alert_id: int,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Alert:
    """Take an ack back: the alert is unacknowledged again and escalation starts over."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.state != AlertState.ACKNOWLEDGED:
            raise WrongState(
                f"alert {alert_id} is {alert.state}: only an acknowledged alert can be unacked",
                fields={"state": alert.state},
            )
        alert.state = AlertState.UNACKNOWLEDGED
        alert.acked_at, alert.acked_by = None, ""
        alert.escalation_step, alert.escalation_round = 0, 0
        notification_enqueue(alert=alert, kind=NotificationKind.FIRING, now=now)
        return _done(alert, actor=actor, action="alert.unacknowledged", comment=comment, now=now)


def alert_shelve(
    *,
    alert_id: int,
    until: datetime,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Alert:
    """Shelve until a time: no notifications or escalation meanwhile; when the shelve
    expires a still-active alert notifies again (``escalation.shelves_expire``)."""
    now = now or timezone.now()
    longest = timedelta(hours=settings.ALERTS_MAX_SHELVE_H)
    if until.tzinfo is None:
        raise InvalidRequest("until must carry a timezone", fields={"until": "must be UTC"})
    if until <= now:
        raise InvalidRequest("until is in the past", fields={"until": "must be in the future"})
    if until - now > longest:
        raise InvalidRequest(
            "shelved too long",
            fields={"until": f"at most {settings.ALERTS_MAX_SHELVE_H} hours from now"},
        )
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.state == AlertState.NORMAL:
            raise WrongState(f"alert {alert_id} is closed", fields={"state": alert.state})
        alert.shelved_until, alert.shelved_by = until, actor
        return _done(
            alert,
            actor=actor,
            action="alert.shelved",
            comment=comment,
            now=now,
            until=until.isoformat(),
        )


def alert_unshelve(
    *,
    alert_id: int,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
    expired: bool = False,
) -> Alert:
    """End a shelve (by hand, or ``expired`` by the clock): an alert still active and not
    acknowledged notifies again, and its escalation resumes."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.shelved_until is None:
            raise WrongState(f"alert {alert_id} is not shelved", fields={"shelved_until": "null"})
        alert.shelved_until, alert.shelved_by = None, ""
        if alert.active and alert.state == AlertState.UNACKNOWLEDGED:
            notification_enqueue(alert=alert, kind=NotificationKind.SHELVE_EXPIRED, now=now)
        return _done(
            alert,
            actor=actor,
            action="alert.shelve_expired" if expired else "alert.unshelved",
            comment=comment,
            now=now,
        )


def alert_reset(
    *,
    alert_id: int,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Alert:
    """Reset a latched alert (its condition has cleared): it closes."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.state != AlertState.LATCHED:
            detail = (
                "is still active: it can be reset once it clears"
                if alert.active
                else f"is {alert.state}: only a latched alert needs a reset"
            )
            raise WrongState(f"alert {alert_id} {detail}", fields={"state": alert.state})
        alert.state = AlertState.NORMAL
        if alert.acked_at is None:
            alert.acked_at, alert.acked_by = now, actor
        RuleState.objects.filter(alert=alert).update(alert=None)
        return _done(alert, actor=actor, action="alert.reset", comment=comment, now=now)


def alert_assign(
    *,
    alert_id: int,
    assignee: str,
    actor: str,
    comment: str = "",
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> Alert:
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert_id, allowed_spacecraft_ids)
        if alert.state == AlertState.NORMAL:
            raise WrongState(f"alert {alert_id} is closed", fields={"state": alert.state})
        before = alert.assignee
        alert.assignee = assignee
        return _done(
            alert,
            actor=actor,
            action="alert.assigned",
            comment=comment,
            now=now,
            **{"from": before, "to": assignee},
        )
