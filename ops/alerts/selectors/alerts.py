"""Alert, rule and audit reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from django.db.models import Q, QuerySet

from ops.alerts.exceptions import NotFound
from ops.alerts.models import Alert, AuditEntry, Rule


def alert_list(
    *,
    states: Sequence[str] = (),
    severities: Sequence[str] = (),
    spacecraft_slug: str | None = None,
    rule_key: str | None = None,
    source: str | None = None,
    active: bool | None = None,
    shelved: bool | None = None,
    open_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> QuerySet[Alert]:
    qs = Alert.objects.select_related("spacecraft").order_by("-raised_at", "-id")
    if states:
        qs = qs.filter(state__in=list(states))
    if severities:
        qs = qs.filter(severity__in=list(severities))
    if spacecraft_slug:
        qs = qs.filter(spacecraft__slug=spacecraft_slug)
    if rule_key:
        qs = qs.filter(rule_key=rule_key)
    if source:
        qs = qs.filter(source=source)
    if active is not None:
        qs = qs.filter(active=active)
    if shelved is not None and now is not None:
        qs = qs.filter(shelved_until__gt=now) if shelved else qs.exclude(shelved_until__gt=now)
    if open_only:
        qs = qs.exclude(state="normal")
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    if until is not None:
        qs = qs.filter(started_at__lt=until)
    if allowed_spacecraft_ids is not None:
        qs = qs.filter(spacecraft_id__in=allowed_spacecraft_ids)
    return qs


def alert_get(*, alert_id: int, allowed_spacecraft_ids: frozenset[int] | None = None) -> Alert:
    found = (
        alert_list(allowed_spacecraft_ids=allowed_spacecraft_ids)
        .select_related("rule", "escalation_policy")
        .filter(pk=alert_id)
        .first()
    )
    if found is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return found


def alert_history(*, alert: Alert) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(alert_id=alert.pk).order_by("at", "id")


def rule_list(*, enabled: bool | None = None, metric: str | None = None) -> QuerySet[Rule]:
    qs = Rule.objects.select_related("spacecraft", "escalation_policy").order_by("key")
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    if metric:
        qs = qs.filter(metric=metric)
    return qs


def rule_get(*, key: str) -> Rule:
    found = rule_list().filter(key=key).first()
    if found is None:
        raise NotFound(f"rule {key!r} does not exist")
    return found


def audit_list(
    *,
    actor: str | None = None,
    action: str | None = None,
    alert_id: int | None = None,
    rule_key: str | None = None,
    spacecraft: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    allowed_spacecraft_slugs: frozenset[str] | None = None,
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.order_by("-at", "-id")
    if actor:
        qs = qs.filter(actor=actor)
    if action:
        qs = qs.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if alert_id is not None:
        qs = qs.filter(alert_id=alert_id)
    if rule_key:
        qs = qs.filter(rule_key=rule_key)
    if spacecraft:
        qs = qs.filter(spacecraft=spacecraft)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    if allowed_spacecraft_slugs is not None:
        qs = qs.filter(spacecraft__in=allowed_spacecraft_slugs)
    return qs


AUDIT_COLUMNS = ["id", "at", "actor", "action", "alert_id", "rule_key", "spacecraft", "comment"]


def audit_csv(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """The audit as CSV, streamed a row at a time (oldest first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([*AUDIT_COLUMNS, "detail"])
    yield flush()
    for entry in entries.order_by("at", "id").iterator(chunk_size=2000):
        writer.writerow(
            [
                entry.pk,
                entry.at.isoformat(),
                entry.actor,
                entry.action,
                entry.alert_id if entry.alert_id is not None else "",
                entry.rule_key,
                entry.spacecraft,
                entry.comment,
                _compact(entry.detail),
            ]
        )
        yield flush()


def _compact(detail: object) -> str:
    import json

    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
