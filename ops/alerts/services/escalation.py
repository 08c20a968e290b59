"""Escalation steps and shelve expiry, driven by the clock (beat, ``alerts.escalate``).

An unacknowledged, active, unshelved alert whose ``next_escalation_at`` has come moves to
its policy's next step (after the last, back to the first while rounds remain) and writes
an outbox row for that step; an ack clears ``next_escalation_at`` and so stops it. A shelve
that has run out ends (audited) and a still-active unacknowledged alert notifies again.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from ops.alerts.exceptions import WrongState
from ops.alerts.models import Alert, AlertState, EscalationStep, NotificationKind
from ops.alerts.services import lifecycle
from ops.alerts.services.audit import audit_record
from ops.alerts.services.outbox import notification_enqueue

ACTOR = "escalation"


def escalations_due(*, now: datetime, limit: int = 500) -> int:
    count = 0
    with transaction.atomic():
        due = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("escalation_policy")
            .filter(next_escalation_at__lte=now)
            .order_by("next_escalation_at", "id")[:limit]
        )
        for alert in due:
            if alert.state != AlertState.UNACKNOWLEDGED or not alert.active:
                alert.next_escalation_at = None
                alert.save(update_fields=["next_escalation_at"])
                continue
            if alert.shelved_until is not None and alert.shelved_until > now:
                continue  # paused: the shelve's expiry notifies and restarts it
            policy = alert.escalation_policy
            steps = list(EscalationStep.objects.filter(policy=policy).order_by("order"))
            step, round_ = alert.escalation_step + 1, alert.escalation_round
            if step >= len(steps):
                if policy is None or round_ >= policy.repeat:
                    alert.next_escalation_at = None
                    alert.save(update_fields=["next_escalation_at"])
                    audit_record(
                        at=now,
                        actor=ACTOR,
                        action="alert.escalation_exhausted",
                        alert=alert,
                        detail={"rounds": round_ + 1},
                    )
                    continue
                step, round_ = 0, round_ + 1
            alert.escalation_step, alert.escalation_round = step, round_
            # Cleared here; the fan-out sets the next deadline once this step is sent.
            alert.next_escalation_at = None
            alert.save(update_fields=["escalation_step", "escalation_round", "next_escalation_at"])
            notification_enqueue(alert=alert, kind=NotificationKind.ESCALATION, now=now, step=step)
            audit_record(
                at=now,
                actor=ACTOR,
                action="alert.escalated",
                alert=alert,
                detail={"step": step, "round": round_},
            )
            count += 1
    return count


def shelves_expire(*, now: datetime) -> int:
    expired = list(Alert.objects.filter(shelved_until__lte=now).values_list("pk", flat=True)[:500])
    done = 0
    for alert_id in expired:
        try:
            lifecycle.alert_unshelve(
                alert_id=alert_id, actor="clock", now=now, expired=True, comment="shelve expired"
            )
            done += 1
        except WrongState:
            pass  # another beat run (or a person) unshelved it first
    return done


def escalation_tick(*, now: datetime) -> dict[str, int]:
    """What beat runs: expired shelves first (they may restart escalation), then steps."""
    return {"shelves_expired": shelves_expire(now=now), "escalated": escalations_due(now=now)}
