"""Alert, rule and audit reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet

from ops.alerts.exceptions import NotFound
from ops.alerts.models import Alert, AuditEntry, Rule
from ops.edge.access import only_allowed


def alert_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Alert]:
    """Alerts newest first, narrowed to the caller's spacecraft (the API's FilterSet
    filters further)."""
    qs = Alert.objects.select_related("spacecraft").order_by("-raised_at", "-id")
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


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


def audit_list() -> QuerySet[AuditEntry]:
    """The audit, newest first (the API's FilterSet filters it)."""
    return AuditEntry.objects.order_by("-at", "-id")


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
