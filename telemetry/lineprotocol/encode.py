"""Encoding points as line protocol."""

from __future__ import annotations

import math

from telemetry.lineprotocol.common import (
    INT64_MAX,
    INT64_MIN,
    KEY_ESCAPES,
    MEASUREMENT_ESCAPES,
    TIME_MAX_NS,
    TIME_MIN_NS,
    UINT64_MAX,
    FieldValue,
    Point,
)


def encode(point: Point) -> str:
    """One line of line protocol for ``point``, nanosecond timestamp, no newline.

    Raises ValueError for what line protocol cannot carry: empty names, no fields, a newline
    anywhere, a name or tag value ending in a backslash, a measurement starting with ``#`` or
    a blank, non-finite floats, integers beyond uint64.
    """
    if not point.measurement:
        raise ValueError("empty measurement")
    if point.measurement[0] in "#\t\r":
        raise ValueError(f"measurement {point.measurement!r} cannot start with '#' or a blank")
    if not point.fields:
        raise ValueError("a point needs at least one field")
    parts = [_escape_name(point.measurement, "measurement", MEASUREMENT_ESCAPES)]
    for key, tag_value in point.tags.items():
        parts.append(",")
        parts.append(_escape_name(key, "tag key", KEY_ESCAPES))
        parts.append("=")
        parts.append(_escape_name(tag_value, f"tag {key!r} value", KEY_ESCAPES))
    separator = " "
    for key, value in point.fields.items():
        parts.append(separator)
        parts.append(_escape_name(key, "field key", KEY_ESCAPES))
        parts.append("=")
        parts.append(_encode_value(key, value))
        separator = ","
    if point.time_ns is not None:
        if not TIME_MIN_NS <= point.time_ns <= TIME_MAX_NS:
            raise ValueError(f"time_ns {point.time_ns} out of range")
        parts.append(f" {point.time_ns}")
    return "".join(parts)


def _escape_name(text: str, what: str, escapes: tuple[tuple[str, str], ...]) -> str:
    if not text:
        raise ValueError(f"empty {what}")
    if "\n" in text:
        raise ValueError(f"{what} {text!r} contains a newline")
    if text[-1] == "\\":
        # "\" before the separator that follows would read as an escape.
        raise ValueError(f"{what} {text!r} ends with a backslash")
    for escaped, plain in escapes:
        text = text.replace(plain, escaped)
    return text


def _encode_value(key: str, value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return f"{value}i"
        if 0 <= value <= UINT64_MAX:
            return f"{value}u"
        raise ValueError(f"field {key!r}: integer {value} out of int64/uint64 range")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"field {key!r}: {value} is not finite")
        return repr(value)
    if isinstance(value, str):
        if "\n" in value:
            raise ValueError(f"field {key!r}: string contains a newline")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"field {key!r}: unsupported value type {type(value).__name__}")
