"""API plumbing shared by every app: error shape, pagination, domain-error mapping."""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ops.fleet.exceptions import DomainError


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


def _flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    """DRF error detail (nested dicts/lists) to ``{"field.sub": "message"}``."""
    out: dict[str, str] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = " ".join(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = str(detail)
    return out


def error_body(code: str, detail: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IntegrityError):
        # A uniqueness race lost to a concurrent request (the services check first).
        return Response(
            error_body("conflict", "conflicts with a concurrent change; fetch and retry"),
            status=409,
        )
    if isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError):
        # The database is down or restarting: tell the client to retry rather than
        # claim success or blame its input. The connection is dropped so the next
        # request reconnects.
        try:
            connection.close()
        except DatabaseError:
            pass  # already broken; closing is best effort
        response = Response(
            error_body("unavailable", "the database is unavailable; retry shortly"), status=503
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    handled = drf_exception_handler(exc, context)
    if handled is None:
        return None
    response = handled
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), ("", "invalid input"))
        detail = f"{first[0]}: {first[1]}" if first[0] else first[1]
        response.data = error_body("invalid", detail, fields)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response


def json_error(request: HttpRequest, code: str, detail: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, detail), status=status_code)


def server_error_json(request: HttpRequest) -> JsonResponse:
    return json_error(request, "server_error", "internal error; it has been logged", 500)


def not_found_json(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(
        request, "not_found", f"no such resource: {request.path}", status.HTTP_404_NOT_FOUND
    )
