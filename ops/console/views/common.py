"""What every console page passes its template, and how every console action answers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from ops.console.access import can_act, can_see_alerts, page_scopes, wants_json
from ops.edge.exceptions import DomainError


def page(
    request: HttpRequest, template: str, context: dict[str, Any], *, section: str
) -> HttpResponse:
    scopes = page_scopes(request)
    return render(
        request,
        template,
        {
            **context,
            "console_section": section,
            "console_user": {
                "roles": sorted(scopes),
                "can_act": can_act(scopes),
                "alerts": can_see_alerts(scopes),
            },
        },
    )


def answer(
    request: HttpRequest, text: str, body: dict[str, Any], *, fallback: str, status: int = 200
) -> HttpResponse:
    """JSON for the page's script; without JavaScript, a message and back to the page
    (``next``, else the referrer, else ``fallback``)."""
    if wants_json(request):
        return JsonResponse({"message": text, **body}, status=status)
    (messages.success if status < 400 else messages.error)(request, text)
    back = request.POST.get("next") or request.headers.get("Referer") or fallback
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = fallback
    return redirect(back)


def refused(request: HttpRequest, exc: DomainError, *, fallback: str) -> HttpResponse:
    """A domain error as the API would answer it (its status, code and fields)."""
    return answer(
        request,
        exc.detail,
        {"error": exc.code, "detail": exc.detail, "fields": exc.fields},
        fallback=fallback,
        status=exc.status,
    )
