"""What every console page passes its template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ops.console.access import can_act, page_scopes


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
            "console_user": {"roles": sorted(scopes), "can_act": can_act(scopes)},
        },
    )
