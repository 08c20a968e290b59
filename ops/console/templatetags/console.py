"""Template helpers for console pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


@register.filter
def nbytes(value: float | int | None) -> str:
    """1234567 -> '1.2 MB' (decimal units, as links and disks are sold)."""
    if value is None:
        return "—"
    number = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(number) < 1000 or unit == "PB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1000
    return f"{number:.1f} PB"


@register.filter
def rate(value: float | None) -> str:
    """bit/s -> '12.3 Mbit/s'."""
    if value is None:
        return "—"
    number = float(value)
    for unit in ("bit/s", "kbit/s", "Mbit/s", "Gbit/s"):
        if abs(number) < 1000 or unit == "Gbit/s":
            return f"{number:.0f} {unit}" if unit == "bit/s" else f"{number:.1f} {unit}"
        number /= 1000
    return f"{number:.1f} Gbit/s"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def json_inline(value: Any) -> SafeString:
    """JSON for a ``<script type="application/json">`` block (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above for a script element


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key)
