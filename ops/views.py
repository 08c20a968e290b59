"""Project-level endpoints: health and metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from ops import health, metrics
from ops.fleet.access import scopes_for_user
from ops.fleet.apiutils import error_body
from ops.fleet.auth import bearer_secret, principal_for_secret


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Open to load balancers: says only up or down per dependency, no data."""
    ok, checks = health.run_checks()
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    response = JsonResponse(body, status=200 if ok else 503)
    if not ok:
        response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape; needs an ``admin`` token or role unless ZENITH_METRICS_PUBLIC."""
    if not settings.ZENITH_METRICS_PUBLIC:
        scopes: frozenset[str] = frozenset()
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            secret = bearer_secret(header)
            principal = principal_for_secret(secret) if secret else None
            scopes = principal.scopes if principal else frozenset()
        else:
            scopes = scopes_for_user(request.user)
        if not scopes:
            response = JsonResponse(
                error_body("not_authenticated", "a token or session is required"), status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="zenith"'
            return response
        if "admin" not in scopes:
            return JsonResponse(
                error_body("permission_denied", "needs the admin scope"), status=403
            )
    return metrics.render()
