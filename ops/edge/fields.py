"""Request fields and checks every endpoint shares, so each rule has one home.

``state_pattern``: the OpenAPI schema of a string limited to some values, without a named
enum (drf-spectacular names enums by field name, and several resources have a "state").
``path_id``: a URL's numeric id, or ``-1`` (which matches nothing: a 404 like any unknown
id). ``check_window``: a time window that is aware, ordered and not too long.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ops.edge.exceptions import DomainError


def state_pattern(values: Iterable[str]) -> dict[str, str]:
    names = list(values)
    return {
        "type": "string",
        "pattern": f"^({'|'.join(names)})$",
        "description": ", ".join(names),
    }


def path_id(kwargs: Mapping[str, Any], name: str = "pk") -> int:
    """The id in a URL (``kwargs[name]``); ``-1`` for anything that is not one."""
    try:
        value = int(str(kwargs[name]))
    except (KeyError, ValueError):
        return -1
    return value if 0 <= value < 2**63 else -1


def check_window(
    start: datetime,
    end: datetime,
    *,
    max_span: timedelta,
    error: type[DomainError],
) -> None:
    """A window must be timezone-aware, end after it starts and span at most ``max_span``;
    otherwise ``error`` names the field at fault."""
    if start.tzinfo is None or end.tzinfo is None:
        raise error("times must carry a timezone", fields={"start": "must be UTC"})
    if end <= start:
        raise error("window ends before it starts", fields={"end": "must be after start"})
    if end - start > max_span:
        raise error("window too long", fields={"end": f"at most {max_span.days} days after start"})
