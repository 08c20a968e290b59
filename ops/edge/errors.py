"""Errors at the API edge: the JSON error shape ``{"error": code, "detail": ...,
"fields": {...}}`` and the one DRF exception handler that maps domain errors
(``ops.edge.exceptions.DomainError``), validation errors and outages to HTTP."""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ops.edge.exceptions import DomainError


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
