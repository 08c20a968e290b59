"""Who may see the console and who may act from it: one place, used by every page,
every action and the socket's snapshots. Roles map to scopes (``ops.edge.access``).

Reading needs any of ``schedule``, ``operate``, ``admin``; acting (transfers, alerts,
stations) needs ``operate`` (``admin`` implies it). A scheduler sees the plan and the
queue but no control, and a forged POST from one is refused (403) here, whatever the
page showed.

Alerts are seen by the roles ``ops.alerts`` lets follow them (its live topic's scopes,
the same as its API's reads: ``operate``, ``admin``): a page the socket would not keep
live is not shown at all, so an alert list is never silently stale. Today a scheduler
sees no alert anywhere in the console; widening that is ``ops.alerts``' decision, and
the console follows it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ops.alerts.live import ALERTS as ALERTS_TOPIC
from ops.edge.access import Scope, scopes_for_user

READ: frozenset[str] = frozenset({Scope.SCHEDULE.value, Scope.OPERATE.value, Scope.ADMIN.value})
ACT: frozenset[str] = frozenset({Scope.OPERATE.value, Scope.ADMIN.value})
ALERTS: frozenset[str] = ALERTS_TOPIC.scopes

View = Callable[..., HttpResponse]


def can_read(scopes: frozenset[str]) -> bool:
    return bool(scopes & READ)


def can_act(scopes: frozenset[str]) -> bool:
    return bool(scopes & ACT)


def can_see_alerts(scopes: frozenset[str]) -> bool:
    return bool(scopes & ALERTS)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refuse(request: HttpRequest, detail: str) -> HttpResponse:
    if wants_json(request) or request.method == "POST":
        return JsonResponse({"error": "permission_denied", "detail": detail}, status=403)
    return render(request, "console/forbidden.html", {"detail": detail}, status=403)


def console_page(view: View) -> View:
    """A page: signed in (else the login page) with a role that may read the console."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scopes = scopes_for_user(request.user)
        if not can_read(scopes):
            return _refuse(request, "your account has no console role")
        request.console_scopes = scopes  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def alerts_page(view: View) -> View:
    """A page about alerts: a console page for the roles that may see alerts."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_see_alerts(page_scopes(request)):
            return _refuse(request, "your role may not see alerts (operate needed)")
        return view(request, *args, **kwargs)

    return console_page(checked)


def console_action(view: View) -> View:
    """An action: a POST (CSRF-checked by the middleware) from a role that may act."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return JsonResponse({"error": "method_not_allowed", "detail": "POST"}, status=405)
        if not request.user.is_authenticated:
            return JsonResponse({"error": "not_authenticated", "detail": "sign in"}, status=401)
        scopes = scopes_for_user(request.user)
        if not can_act(scopes):
            return _refuse(request, "your role may not act from the console (operate needed)")
        request.console_scopes = scopes  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def page_scopes(request: HttpRequest) -> frozenset[str]:
    scopes: frozenset[str] = getattr(request, "console_scopes", frozenset())
    return scopes
