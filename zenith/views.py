"""Project-level endpoints: ``/healthz``, ``/metrics`` and the JSON/HTML error pages.

Callers are identified by the authentication classes the settings name (tokens, sessions),
so the wiring needs no app to know who is asking.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from ops.edge.access import request_scopes
from ops.edge.errors import error_body
from zenith import health, metrics


class HealthView(APIView):
    """Open to load balancers: up or down per dependency. Details (errors, versions,
    latencies) only for callers holding the ``admin`` scope."""

    permission_classes = [AllowAny]
    http_method_names = ["get", "head", "options"]
    schema = None  # a probe, not part of the API

    def perform_authentication(self, request: Request) -> None:
        """Lazy: a bad token must not turn the probe into a 401 (it only hides details)."""

    def get(self, request: Request) -> JsonResponse:
        ok, checks = health.run_checks()
        try:
            detailed = "admin" in request_scopes(request)
        except Exception:  # a bad token, or no database to check it against: no details
            detailed = False
        body = {
            "status": "ok" if ok else "unavailable",
            "checks": checks if detailed else health.public_view(checks),
        }
        response = JsonResponse(body, status=200 if ok else 503)
        if not ok:
            response["Retry-After"] = "5"
        response["Cache-Control"] = "no-store"
        return response


class MetricsPermission(BasePermission):
    message = "needs the admin scope"

    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.ZENITH_METRICS_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated) and (
            "admin" in request_scopes(request)
        )


class MetricsView(APIView):
    """Prometheus scrape; needs an ``admin`` token or role unless ZENITH_METRICS_PUBLIC."""

    permission_classes = [MetricsPermission]
    http_method_names = ["get", "options"]
    schema = None

    def get(self, request: Request) -> HttpResponse:
        return metrics.render()


healthz = HealthView.as_view()
metrics_view = MetricsView.as_view()


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
