"""Template helpers for console pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.conf import settings
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


SHELVE_MINUTES = (30, 60, 120, 240, 480, 720, 1440, 4320)


@register.simple_tag
def shelve_choices() -> list[tuple[int, str]]:
    """How long an alert may be shelved from the console: up to ``ALERTS_MAX_SHELVE_H``."""
    longest = settings.ALERTS_MAX_SHELVE_H * 60
    return [(m, f"{m} min" if m < 60 else f"{m // 60} h") for m in SHELVE_MINUTES if m <= longest]


@register.filter
def quantity(value: float | None) -> str:
    """A measured value as people read it: 82.5, 0.0012, 3.2e+12 (six significant digits)."""
    return "—" if value is None else f"{value:.6g}"
