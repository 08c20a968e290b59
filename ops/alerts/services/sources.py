"""Alerts from elsewhere: an events endpoint shaped like PagerDuty Events v2 and a receiver
for Prometheus Alertmanager's webhook, so existing Prometheus rules page through Zenith.

Both are idempotent by their dedup key (Events v2 ``dedup_key``; Alertmanager's alert
``fingerprint``, or a hash of its labels): a trigger for a key with an alert still open is
that alert (a worse severity raises it, nothing else changes), and a trigger whose start
time matches an occurrence already recorded under the key is a replay. Replays create
nothing. Payloads are checked whole before anything is written; every problem is named.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from ops.alerts.exceptions import InvalidEvent
from ops.alerts.models import SEVERITY_RANK, Alert, AlertState, EscalationPolicy, Source
from ops.alerts.services import lifecycle
from ops.fleet.models import Spacecraft

EVENTS_SEVERITY = {
    "info": "watch",
    "warning": "warning",
    "error": "distress",
    "critical": "critical",
}
AM_SEVERITY = {
    "info": "watch",
    "none": "watch",
    "watch": "watch",
    "warning": "warning",
    "error": "distress",
    "distress": "distress",
    "critical": "critical",
    "page": "critical",
    "severe": "severe",
}
MAX_ALERTS = 1000


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    dedup_key: str
    routing_key: str
    summary: str = ""
    severity: str = "warning"
    source: str = ""
    timestamp: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    dedup_key: str
    alert_id: int | None
    created: bool
    changed: bool


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def event_check(body: Any) -> Event:
    """A PagerDuty Events v2 body, checked whole (``InvalidEvent`` names every field)."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        raise InvalidEvent("expected a JSON object", fields={"body": "a JSON object"})
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors["event_action"] = "must be trigger, acknowledge or resolve"
    routing = body.get("routing_key")
    if not _text(routing, 64):
        errors["routing_key"] = "required: the integration key (1-64 characters)"
    elif not EscalationPolicy.objects.filter(routing_key=routing).exists():
        errors["routing_key"] = "unknown integration key"
    dedup = body.get("dedup_key")
    if dedup is not None and not _text(dedup, 255):
        errors["dedup_key"] = "a string of 1-255 characters"
    if action in ("acknowledge", "resolve") and dedup is None:
        errors["dedup_key"] = f"required to {action}"
    payload = body.get("payload")
    summary: Any = ""
    source: Any = ""
    severity, stamp, details = "warning", None, {}
    if action == "trigger":
        if not isinstance(payload, dict):
            errors["payload"] = "required for trigger: an object with summary, source, severity"
        else:
            summary, source = payload.get("summary"), payload.get("source")
            if not _text(summary, 1024):
                errors["payload.summary"] = "required, 1-1024 characters"
            if not _text(source, 255):
                errors["payload.source"] = "required, 1-255 characters"
            if payload.get("severity") not in EVENTS_SEVERITY:
                errors["payload.severity"] = "must be critical, error, warning or info"
            else:
                severity = EVENTS_SEVERITY[payload["severity"]]
            if "timestamp" in payload:
                stamp = _time(payload["timestamp"])
                if stamp is None:
                    errors["payload.timestamp"] = "an ISO 8601 time with a timezone"
            custom = payload.get("custom_details", {})
            if not isinstance(custom, dict):
                errors["payload.custom_details"] = "an object"
            for name in ("component", "group", "class"):
                if name in payload and not isinstance(payload[name], str):
                    errors[f"payload.{name}"] = "a string"
            if not errors:
                details = {
                    "custom_details": custom,
                    **{k: payload[k] for k in ("component", "group", "class") if k in payload},
                }
    if errors:
        first = next(iter(errors.items()))
        raise InvalidEvent(f"{first[0]}: {first[1]}", fields=errors)
    return Event(
        action=str(action),
        dedup_key=str(dedup) if dedup else uuid.uuid4().hex,
        routing_key=str(routing),
        summary=str(summary),
        severity=severity,
        source=str(source),
        timestamp=stamp,
        details=details,
    )


def _spacecraft(*names: str) -> Spacecraft | None:
    candidates = [n.split(":")[0] for n in names if n]
    return Spacecraft.objects.filter(slug__in=candidates).order_by("slug").first()


def _apply(
    *,
    source: str,
    key: str,
    action: str,
    severity: str,
    summary: str,
    started_at: datetime,
    ended_at: datetime | None,
    details: dict[str, Any],
    spacecraft: Spacecraft | None,
    policy_id: int | None,
    actor: str,
    now: datetime,
) -> Outcome:
    with transaction.atomic():
        current = (
            Alert.objects.select_for_update()
            .filter(dedup_key=key)
            .exclude(state=AlertState.NORMAL)
            .first()
        )
        if action == "trigger":
            if current is not None and not current.active and current.started_at != started_at:
                # Fired again after it resolved, before anyone acked it: it alarms again.
                lifecycle.alert_reactivate(
                    alert=current,
                    severity=severity,
                    value=None,
                    at=started_at,
                    actor=actor,
                    now=now,
                )
                return Outcome(key, current.pk, False, True)
            if current is not None:
                changed = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity]
                if changed:
                    lifecycle.alert_worsen(
                        alert=current,
                        severity=severity,
                        value=None,
                        at=started_at,
                        actor=actor,
                        now=now,
                    )
                return Outcome(key, current.pk, False, changed)
            if Alert.objects.filter(dedup_key=key, started_at=started_at).exists():
                return Outcome(key, None, False, False)  # a replay of a closed occurrence
            try:
                with transaction.atomic():
                    alert = lifecycle.alert_open(
                        opening=lifecycle.Opening(
                            source=source,
                            severity=severity,
                            summary=summary,
                            started_at=started_at,
                            spacecraft_id=spacecraft.pk if spacecraft else None,
                            dedup_key=key,
                            details=details,
                            escalation_policy_id=policy_id,
                        ),
                        actor=actor,
                        now=now,
                    )
            except IntegrityError:  # a concurrent trigger for the key won
                winner = Alert.objects.filter(dedup_key=key).exclude(state="normal").first()
                return Outcome(key, winner.pk if winner else None, False, False)
            return Outcome(key, alert.pk, True, True)
        if current is None:
            return Outcome(key, None, False, False)
        if action == "acknowledge":
            if current.state != AlertState.UNACKNOWLEDGED:
                return Outcome(key, current.pk, False, False)
            lifecycle.alert_ack(
                alert_id=current.pk, actor=actor, now=now, comment=f"acknowledged through {source}"
            )
            return Outcome(key, current.pk, False, True)
        if not current.active:
            return Outcome(key, current.pk, False, False)
        lifecycle.alert_clear(alert=current, at=ended_at or now, value=None, actor=actor, now=now)
        return Outcome(key, current.pk, False, True)


def event_apply(*, event: Event, actor: str, now: datetime) -> Outcome:
    """Trigger, acknowledge or resolve the alert keyed by the event's ``dedup_key``."""
    policy = EscalationPolicy.objects.filter(routing_key=event.routing_key).first()
    outcome = _apply(
        source=Source.EVENTS,
        key=f"events:{event.dedup_key}",
        action=event.action,
        severity=event.severity,
        summary=event.summary,
        started_at=event.timestamp or now,
        ended_at=None,
        details={"source": event.source, **event.details},
        spacecraft=_spacecraft(event.source, str(event.details.get("component", ""))),
        policy_id=policy.pk if policy else None,
        actor=actor,
        now=now,
    )
    return Outcome(event.dedup_key, outcome.alert_id, outcome.created, outcome.changed)


@dataclass(frozen=True, slots=True)
class AmAlert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    key: str


def alertmanager_check(body: Any) -> list[AmAlert]:
    """Alertmanager's webhook body (version 4), checked whole."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        raise InvalidEvent("expected a JSON object", fields={"body": "a JSON object"})
    if str(body.get("version", "")) != "4":
        errors["version"] = 'must be "4" (Alertmanager\'s webhook format)'
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        errors["alerts"] = "a non-empty list"
        alerts = []
    elif len(alerts) > MAX_ALERTS:
        errors["alerts"] = f"at most {MAX_ALERTS} alerts per request"
        alerts = []
    out: list[AmAlert] = []
    for i, item in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(item, dict):
            errors[where] = "an object"
            continue
        status = item.get("status")
        if status not in ("firing", "resolved"):
            errors[f"{where}.status"] = "must be firing or resolved"
        labels = item.get("labels")
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            errors[f"{where}.labels"] = "an object of strings"
            labels = {}
        elif not labels.get("alertname"):
            errors[f"{where}.labels.alertname"] = "required"
        annotations = item.get("annotations", {})
        if not isinstance(annotations, dict) or not all(
            isinstance(v, str) for v in annotations.values()
        ):
            errors[f"{where}.annotations"] = "an object of strings"
            annotations = {}
        starts = _time(item.get("startsAt"))
        if starts is None:
            errors[f"{where}.startsAt"] = "an RFC 3339 time"
        raw_end = item.get("endsAt")
        ends = _time(raw_end) if raw_end else None
        if raw_end and ends is None:
            errors[f"{where}.endsAt"] = "an RFC 3339 time"
        if ends is not None and ends.year <= 1:
            ends = None  # Alertmanager's zero time: not ended
        fingerprint = item.get("fingerprint")
        if fingerprint is not None and not _text(fingerprint, 64):
            errors[f"{where}.fingerprint"] = "a string of 1-64 characters"
        if len(errors) >= 20:
            break
        if starts is not None and status in ("firing", "resolved") and isinstance(labels, dict):
            key = (
                fingerprint
                or hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
            )
            out.append(AmAlert(str(status), labels, annotations, starts, ends, f"am:{key}"))
    if errors:
        first = next(iter(errors.items()))
        raise InvalidEvent(f"{first[0]}: {first[1]}", fields=errors)
    return out


def alertmanager_apply(*, alerts: list[AmAlert], actor: str, now: datetime) -> list[Outcome]:
    """Fire or resolve each alert of a notification (one transaction for the batch)."""
    outcomes: list[Outcome] = []
    with transaction.atomic():
        for alert in alerts:
            labels = alert.labels
            name = labels.get("alertname", "alert")
            summary = alert.annotations.get("summary") or alert.annotations.get("description")
            node = _spacecraft(
                labels.get("spacecraft", ""), labels.get("node", ""), labels.get("instance", "")
            )
            outcomes.append(
                _apply(
                    source=Source.ALERTMANAGER,
                    key=alert.key,
                    action="trigger" if alert.status == "firing" else "resolve",
                    severity=AM_SEVERITY.get(labels.get("severity", "").lower(), "warning"),
                    summary=f"{name}: {summary}" if summary else name,
                    started_at=alert.starts_at,
                    ended_at=alert.ends_at,
                    details={"labels": labels, "annotations": alert.annotations},
                    spacecraft=node,
                    policy_id=None,
                    actor=actor,
                    now=now,
                )
            )
    return outcomes
