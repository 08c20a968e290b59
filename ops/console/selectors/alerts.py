"""What the console shows of alerts, read through ``ops.alerts``' own selectors: the
worst open alert per node (fleet tiles), the open alerts sorted into the page's three
lists, one alert with its history, who is on call, and who may be assigned an alert.

An alert is *open* until it is closed (``normal``): firing (unacknowledged), acknowledged,
returned (cleared before anyone acked it) or latched (cleared, waiting for a reset). A
shelved one (``shelved_until`` still ahead) is open too, but on its own list, and does
not colour its node's tile: shelving is an operator saying "not now". ``group_of`` is
the one rule for which list an alert is on; ``static/console/alerts.js`` mirrors it for
live updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from ops.alerts.models import OPEN_STATES, SEVERITY_RANK, Alert, AlertState, AuditEntry
from ops.alerts.selectors import alerts as alert_selectors
from ops.alerts.selectors import notify as notify_selectors
from ops.edge.access import ROLE_SCOPES, Scope

GROUPS = ("firing", "acknowledged", "shelved")
OPEN = [str(s) for s in OPEN_STATES]
HISTORY_SHOWN = 200
AUDIT_SHOWN = 200


@dataclass(frozen=True, slots=True)
class AlertMark:
    """What a fleet tile needs of an open alert (the board keeps these to recompute a
    node's worst alert when one changes live)."""

    id: int
    spacecraft_id: int
    severity: str
    shelved_until: datetime | None


@dataclass(frozen=True, slots=True)
class AlertLists:
    firing: list[Alert]
    acknowledged: list[Alert]
    shelved: list[Alert]

    def rows(self) -> list[tuple[str, Alert]]:
        return [(group, a) for group in GROUPS for a in getattr(self, group)]

    @property
    def counts(self) -> dict[str, int]:
        return {group: len(getattr(self, group)) for group in GROUPS}


def group_of(*, state: str, shelved_until: datetime | None, now: datetime) -> str | None:
    """The list an alert is on: ``shelved``, ``acknowledged``, ``firing``, or ``None``
    when it is closed."""
    if state == AlertState.NORMAL:
        return None
    if shelved_until is not None and shelved_until > now:
        return "shelved"
    if state == AlertState.ACKNOWLEDGED:
        return "acknowledged"
    return "firing"  # unacknowledged, returned (needs an ack), latched (needs a reset)


def _open() -> QuerySet[Alert]:
    return alert_selectors.alert_list().filter(state__in=OPEN)


def alert_marks(*, node_ids: Sequence[int]) -> list[AlertMark]:
    """Every open alert of these nodes (one query)."""
    rows = (
        _open()
        .filter(spacecraft_id__in=list(node_ids))
        .values_list("id", "spacecraft_id", "severity", "shelved_until")
    )
    return [AlertMark(*row) for row in rows]


def worst_of(marks: Iterable[AlertMark], *, now: datetime) -> dict[int, str]:
    """The severity of each node's worst open alert that is not shelved, by node id."""
    worst: dict[int, str] = {}
    for mark in marks:
        if mark.shelved_until is not None and mark.shelved_until > now:
            continue
        seen = worst.get(mark.spacecraft_id)
        if seen is None or SEVERITY_RANK[mark.severity] > SEVERITY_RANK[seen]:
            worst[mark.spacecraft_id] = mark.severity
    return worst


def worst_by_node(*, node_ids: Sequence[int], now: datetime | None = None) -> dict[int, str]:
    """The severity of each node's worst firing, acknowledged, returned or latched alert
    (shelved ones aside), by node id."""
    return worst_of(alert_marks(node_ids=node_ids), now=now or timezone.now())


def _ordered(alerts: list[Alert]) -> list[Alert]:
    # The worst first, then the newest: what the person on call reads first.
    return sorted(alerts, key=lambda a: (-SEVERITY_RANK[a.severity], -a.started_at.timestamp()))


def open_alerts(*, now: datetime, spacecraft_id: int | None = None) -> AlertLists:
    """The open alerts (of one node, or all) on their three lists (one query)."""
    qs = _open()
    if spacecraft_id is not None:
        qs = qs.filter(spacecraft_id=spacecraft_id)
    lists: dict[str, list[Alert]] = {group: [] for group in GROUPS}
    for alert in qs:
        group = group_of(state=alert.state, shelved_until=alert.shelved_until, now=now)
        if group is not None:
            lists[group].append(alert)
    return AlertLists(**{group: _ordered(rows) for group, rows in lists.items()})


def alert_detail(*, alert_id: int) -> tuple[Alert, list[AuditEntry]]:
    """One alert (any state) and its history, oldest first (two queries)."""
    alert = alert_selectors.alert_get(alert_id=alert_id)
    return alert, list(alert_selectors.alert_history(alert=alert))


def history(*, filtered: QuerySet[Alert]) -> list[Alert]:
    """Occurrences as filtered (``ops.alerts``' FilterSet), newest first, the first
    ``HISTORY_SHOWN``."""
    return list(filtered[:HISTORY_SHOWN])


def occurrences() -> QuerySet[Alert]:
    """Every occurrence, newest first, for the history's filters to narrow."""
    return alert_selectors.alert_list()


def audit() -> QuerySet[AuditEntry]:
    """The audit, newest first, for the audit's filters to narrow."""
    return alert_selectors.audit_list()


def oncall(*, now: datetime) -> list[notify_selectors.OnCall]:
    """Who is on call now, per schedule (three queries)."""
    return notify_selectors.oncall_now(at=now)


def assignable_people() -> list[str]:
    """Usernames of people who may act on alerts (a role granting ``operate``, or a
    superuser): the names the assign field suggests. Any name is accepted."""
    roles = [
        role
        for role, scopes in ROLE_SCOPES.items()
        if scopes & {Scope.OPERATE.value, Scope.ADMIN.value}
    ]
    users = get_user_model().objects.filter(
        Q(groups__name__in=roles) | Q(is_superuser=True), is_active=True
    )
    return sorted(set(users.values_list("username", flat=True)))
