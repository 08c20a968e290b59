"""Alerts: the open ones on three live lists (firing, acknowledged, shelved) with who is
on call; one alert with its history; past occurrences and the audit, filtered by
``ops.alerts``' own FilterSets (so the audit's CSV link, the API's export, takes the same
filters and means the same thing).

Acting (ack, unack, shelve, unshelve, reset, assign, each with a comment) calls
``ops.alerts.services.lifecycle`` as the API does, as the signed-in person, after the role
check (``console_action``); a worker is woken for what the action enqueued, as the API
does. A refused action answers as the API would (409 wrong state, 400 bad input).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from ops.alerts import hooks
from ops.alerts.api.alerts import AlertFilter
from ops.alerts.api.audit import AuditFilter
from ops.alerts.exceptions import InvalidRequest, NotAllowed, NotFound
from ops.alerts.live import alert_payload
from ops.alerts.models import Alert, AlertState, Severity, Source
from ops.alerts.services import lifecycle
from ops.console.access import alerts_page, can_act, can_see_alerts, console_action, page_scopes
from ops.console.selectors import alerts as alert_reads
from ops.console.views.common import answer, page, refused
from ops.edge.exceptions import DomainError

ACTIONS = ("ack", "unack", "shelve", "unshelve", "reset", "assign")
DONE = {
    "ack": "acknowledged",
    "unack": "unacknowledged",
    "shelve": "shelved",
    "unshelve": "unshelved",
    "reset": "reset",
    "assign": "assigned",
}
SIMPLE_ACTIONS: dict[str, Callable[..., Alert]] = {
    "ack": lifecycle.alert_ack,
    "unack": lifecycle.alert_unack,
    "unshelve": lifecycle.alert_unshelve,
    "reset": lifecycle.alert_reset,
}
MAX_OFFSET_MIN = 14 * 60  # the widest UTC offset in use
GROUP_TITLES = {
    "firing": ("Firing", "active and unacknowledged, or cleared and still to ack or reset"),
    "acknowledged": ("Acknowledged", "until they clear"),
    "shelved": ("Shelved", "no notifications until the time shown"),
}


def _people(request: HttpRequest) -> list[str]:
    return alert_reads.assignable_people() if can_act(page_scopes(request)) else []


@alerts_page
def alerts(request: HttpRequest) -> HttpResponse:
    """The open alerts, kept live by the socket (the ``alerts`` snapshot on connect)."""
    now = timezone.now()
    lists = alert_reads.open_alerts(now=now)
    return page(
        request,
        "console/alerts.html",
        {
            "lists": lists,
            "alert_groups": [
                (group, *GROUP_TITLES[group], getattr(lists, group)) for group in alert_reads.GROUPS
            ],
            "oncall": alert_reads.oncall(now=now),
            "people": _people(request),
            "can_act": can_act(page_scopes(request)),
            "tab": "open",
        },
        section="alerts",
    )


@alerts_page
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        alert, entries = alert_reads.alert_detail(alert_id=pk)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    return page(
        request,
        "console/alert.html",
        {
            "a": alert,
            "history": entries,
            "group": alert_reads.group_of(
                state=alert.state, shelved_until=alert.shelved_until, now=timezone.now()
            ),
            "people": _people(request),
            "can_act": can_act(page_scopes(request)),
            "audit_url": reverse("console:alert-audit") + f"?alert={alert.pk}",
        },
        section="alerts",
    )


@alerts_page
def alert_history(request: HttpRequest) -> HttpResponse:
    """Occurrences, newest first, filtered as ``GET /api/v1/alerts`` filters them."""
    found = AlertFilter(request.GET or None, queryset=alert_reads.occurrences())
    return page(
        request,
        "console/alert_history.html",
        {
            "alerts": alert_reads.history(filtered=found.qs),
            "shown": alert_reads.HISTORY_SHOWN,
            "errors": found.errors if found.is_bound else {},
            "q": request.GET,
            "severities": Severity.choices,
            "states": AlertState.choices,
            "sources": Source.choices,
            "tab": "history",
        },
        section="alerts",
    )


@alerts_page
def alert_audit(request: HttpRequest) -> HttpResponse:
    """The audit, newest first, filtered as ``GET /api/v1/alerts/audit`` filters it; the
    CSV link is that endpoint's export with the same query."""
    found = AuditFilter(request.GET or None, queryset=alert_reads.audit())
    query = request.GET.urlencode()
    csv_url = reverse("alert-audit-export") + (f"?{query}" if query else "")
    return page(
        request,
        "console/alert_audit.html",
        {
            "entries": list(found.qs[: alert_reads.AUDIT_SHOWN]),
            "shown": alert_reads.AUDIT_SHOWN,
            "errors": found.errors if found.is_bound else {},
            "q": request.GET,
            "csv_url": csv_url,
            "tab": "audit",
        },
        section="alerts",
    )


def _shelve_until(request: HttpRequest, now: datetime) -> datetime:
    """``until`` (a time: with an offset, or as typed in the page's zone: UTC, or local
    with ``utc_offset_min``), else ``minutes`` from now."""
    raw = request.POST.get("until", "").strip()
    if raw:
        try:
            until = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(
                "until must be a time", fields={"until": "YYYY-MM-DDTHH:MM (UTC)"}
            ) from None
        if until.tzinfo is None:
            try:
                offset = int(request.POST.get("utc_offset_min") or 0)
            except ValueError:
                offset = MAX_OFFSET_MIN + 1
            if abs(offset) > MAX_OFFSET_MIN:
                raise InvalidRequest(
                    "utc_offset_min is not an offset", fields={"utc_offset_min": "minutes"}
                )
            until = until.replace(tzinfo=UTC) - timedelta(minutes=offset)
        return until
    try:
        minutes = float(request.POST.get("minutes", ""))
    except ValueError:
        raise InvalidRequest(
            "shelve for how long?", fields={"minutes": "minutes, or until: a time"}
        ) from None
    if not 0 < minutes < 1e6:
        raise InvalidRequest("shelve for how long?", fields={"minutes": "more than 0"})
    return now + timedelta(minutes=minutes)


def _act(request: HttpRequest, alert_id: int, action: str) -> Alert:
    actor = request.user.get_username()
    comment = request.POST.get("comment", "").strip()[:2000]
    common: dict[str, Any] = {"alert_id": alert_id, "actor": actor, "comment": comment}
    if action == "shelve":
        now = timezone.now()
        return lifecycle.alert_shelve(until=_shelve_until(request, now), now=now, **common)
    if action == "assign":
        assignee = request.POST.get("assignee", "").strip()
        if len(assignee) > 150:
            raise InvalidRequest("assignee is too long", fields={"assignee": "150 at most"})
        return lifecycle.alert_assign(assignee=assignee, **common)
    return SIMPLE_ACTIONS[action](**common)


@console_action
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404(f"no action {action}")
    fallback = reverse("console:alerts")
    if not can_see_alerts(page_scopes(request)):
        return refused(request, NotAllowed("your role may not see alerts"), fallback=fallback)
    try:
        alert = _act(request, pk, action)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except DomainError as exc:
        return refused(request, exc, fallback=fallback)
    hooks.dispatch_soon()
    return answer(
        request, f"alert {pk} {DONE[action]}", {"alert": alert_payload(alert)}, fallback=fallback
    )
