"""The one query parameter the non-list alert endpoints take: ``at``, a time (a bad one is
a 400 naming it). List endpoints filter through their FilterSets."""

from __future__ import annotations

from datetime import datetime

from rest_framework import serializers
from rest_framework.request import Request

from ops.alerts.exceptions import InvalidRequest


def query_time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value: datetime = serializers.DateTimeField().to_internal_value(raw)
    except serializers.ValidationError:
        raise InvalidRequest(
            f"{name} is not a time", fields={name: "ISO 8601, e.g. 2026-11-24T12:00:00Z"}
        ) from None
    return value
