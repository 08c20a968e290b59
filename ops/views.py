"""Project-level endpoints: health and metrics."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_safe

from ops import health, metrics
from ops.fleet.access import scopes_for_user
from ops.fleet.apiutils import error_body
from ops.fleet.auth import bearer_secret, principal_for_secret


def _caller_scopes(request: HttpRequest) -> frozenset[str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        secret = bearer_secret(header)
        principal = principal_for_secret(secret) if secret else None
        return principal.scopes if principal else frozenset()
    return scopes_for_user(request.user)


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Open to load balancers: up or down per dependency. Details (errors, versions,
    latencies) only for callers holding the ``admin`` scope."""
    ok, checks = health.run_checks()
    try:
        detailed = "admin" in _caller_scopes(request)
    except Exception:
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


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape; needs an ``admin`` token or role unless ZENITH_METRICS_PUBLIC."""
    if not settings.ZENITH_METRICS_PUBLIC:
        scopes = _caller_scopes(request)
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
