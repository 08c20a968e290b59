"""Operator console pages. Thin: a selector call, then a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ops.fleet import selectors as fleet_selectors
from ops.fleet.access import scopes_for_user
from ops.fleet.apiutils import error_body


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/home.html",
        {
            "spacecraft": list(fleet_selectors.spacecraft_list()),
            "stations": list(fleet_selectors.station_list()),
            "scopes": sorted(scopes_for_user(request.user)),
        },
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "internal error; it has been logged"), status=500
        )
    return render(request, "500.html", status=500)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("not_found", f"no such resource: {request.path}"), status=404
        )
    return render(request, "404.html", {"path": request.path}, status=404)
