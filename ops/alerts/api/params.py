"""Query parameters the alert endpoints share: flags, times, lists of choices (a bad one
is a 400 naming it)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from ops.alerts.exceptions import InvalidRequest

_BOOL = {"true": True, "1": True, "false": False, "0": False}


def query_flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in _BOOL:
        raise InvalidRequest(f"{name} must be true or false", fields={name: "true or false"})
    return _BOOL[raw.lower()]


def query_time(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = serializers.DateTimeField().to_internal_value(raw)
    return value


def query_choices(request: Request, name: str, allowed: list[str]) -> list[str]:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidRequest(
            f"unknown {name}: {', '.join(bad)}", fields={name: f"one of {', '.join(allowed)}"}
        )
    return values
