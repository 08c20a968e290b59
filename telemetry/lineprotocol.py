"""Strict parser (and encoder) for InfluxDB v2 line protocol.

Pure module: stdlib only, so the ``POST /api/v2/write`` endpoint, the bench and the InfluxDB
sink share one definition of the syntax. Reference:
https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/

    measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]

Decisions where the reference leaves room (each pinned by a test):

* Escapes. Measurement: ``\\,`` and ``\\ ``. Tag keys, tag values, field keys: ``\\,``,
  ``\\=`` and ``\\ ``. String field values: ``\\"`` and ``\\\\``. A backslash before any other
  character is kept literally and escapes nothing, so ``a\\\\,b`` in a tag value reads
  ``a\\,b`` (the scanning rule of influxdata/line-protocol v2).
* A raw newline inside a string field value is rejected ("unterminated string"): the reference
  says line protocol does not support ``\\n`` in tag or field values, and one line is one point.
  InfluxDB's own Go parsers accept it, and Telegraf may send it.
* Duplicate tag keys and duplicate field keys in one line are errors (InfluxDB silently keeps
  the last field).
* ``inf``/``nan`` spellings, a leading ``+``, ``_`` digit separators, hex floats, and floats
  that overflow to infinity are errors. ``1.``, ``.5`` and leading zeros are accepted, as by
  Go's ``strconv``.
* ``12u`` is range-checked as uint64 and returned as ``int``, so it cannot be told apart from
  ``12i`` afterwards; :func:`encode` writes ints beyond int64 with ``u``.
* Timestamps are whole numbers in ``precision`` units; after scaling to nanoseconds they must
  lie in the reference range +/-9223372036854775806.
* Runs of spaces between sections, leading blanks, trailing blanks and ``\\r\\n`` line endings
  are accepted; a line whose first non-blank character is ``#`` is a comment.
* The reference's naming restrictions (names starting with ``_``, the ``time`` key) are storage
  rules, not syntax: callers enforce them if they need to.

Speed: a line with no backslash and no double quote (the usual Telegraf or client-library
telemetry line) is split with ``str`` methods and converted in bulk with C-level calls; every
other line, and every line the fast path has doubts about, goes to a regex-driven scanner that
is the single authority on what is valid and what each error says.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Literal

Precision = Literal["ns", "us", "ms", "s"]
FieldValue = float | int | bool | str

__all__ = ["FieldValue", "LineProtocolError", "Point", "Precision", "encode", "parse"]

_NS_PER_UNIT: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
# The reference's timestamp bounds; InfluxDB reserves the two extreme int64 values.
_TIME_MIN_NS = -(2**63) + 2
_TIME_MAX_NS = 2**63 - 2
_MAX_STRING_BYTES = 64 * 1024

_BOOLS: dict[str, bool] = {
    "t": True,
    "T": True,
    "true": True,
    "True": True,
    "TRUE": True,
    "f": False,
    "F": False,
    "false": False,
    "False": False,
    "FALSE": False,
}
_NUMBER_START = frozenset("-0123456789.")
_FLOAT_END = frozenset("0123456789.")

# Scanner tokens. Possessive quantifiers keep every pattern linear on hostile input.
_MEASUREMENT_RE = re.compile(r"(?:[^\\, ]++|\\[, ]?+)*+")
_KEY_RE = re.compile(r"(?:[^\\,= ]++|\\[,= ]?+)*+")
_STRING_RE = re.compile(r'"((?:[^"\\]++|\\.)*+)"')
_BARE_VALUE_RE = re.compile(r"[^, ]*+")
_FLOAT_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_RE = re.compile(r"-?[0-9]+")
_UINT_RE = re.compile(r"[0-9]+")
_TIME_RE = re.compile(r"-?[0-9]+")
_STRING_UNESCAPE_RE = re.compile(r'\\([\\"])')
_MEASUREMENT_ESCAPES = (("\\,", ","), ("\\ ", " "))
_KEY_ESCAPES = (("\\,", ","), ("\\=", "="), ("\\ ", " "))

# Fast path helpers. Deleting every byte but "=" and "," from a field set leaves "=,=,...="
# exactly when each comma-separated pair has exactly one "=".
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b"=,")
_SEPARATOR_SHAPES: dict[int, bytes] = {}
_FLOAT_CHARS_RE = re.compile(r"[0-9.eE+\-,]*+")


@dataclass(slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int | None
    line: int


class LineProtocolError(ValueError):
    """Every bad line of a body, as ``(line number, message)`` pairs in line order.

    ``truncated`` is true when parsing stopped after ``max_errors`` bad lines.
    """

    def __init__(self, errors: list[tuple[int, str]], *, truncated: bool = False) -> None:
        self.errors = errors
        self.truncated = truncated
        text = "; ".join(f"line {line}: {message}" for line, message in errors)
        if truncated:
            text += "; (more errors not shown)"
        super().__init__(text)


class _LineError(Exception):
    """One bad line, raised inside the scanner and collected by :func:`parse`."""


def parse(body: str | bytes, *, precision: Precision = "ns", max_errors: int = 20) -> list[Point]:
    """Parse a whole write body, all or nothing.

    Raises LineProtocolError naming up to ``max_errors`` bad lines (stopping early past that),
    and ValueError for an unknown ``precision`` or a ``max_errors`` below 1.
    """
    scale = _NS_PER_UNIT.get(precision)
    if scale is None:
        raise ValueError(f"precision must be one of ns, us, ms, s; got {precision!r}")
    if max_errors < 1:
        raise ValueError(f"max_errors must be at least 1; got {max_errors!r}")
    if isinstance(body, bytes | bytearray):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _parse_undecodable(bytes(body), scale, max_errors)
    else:
        text = body
    points, errors, truncated = _parse_lines(text.split("\n"), scale, max_errors)
    if errors:
        raise LineProtocolError(errors, truncated=truncated)
    return points


def _parse_undecodable(body: bytes, scale: int, max_errors: int) -> list[Point]:
    # UTF-8 never uses the byte 0x0A inside a multi-byte sequence, so splitting the bytes on
    # b"\n" numbers lines exactly as splitting the decoded text would.
    lines: list[str] = []
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(body.split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad.append((number, f"invalid UTF-8 at byte {exc.start + 1} of the line"))
            lines.append("")
    _points, errors, truncated = _parse_lines(lines, scale, max_errors)
    # Parsing stopped (if it did) after max_errors + 1 bad lines, so every error up to the
    # max_errors-th in line order is known.
    merged = sorted(errors + bad)
    raise LineProtocolError(merged[:max_errors], truncated=truncated or len(merged) > max_errors)


def _parse_lines(
    lines: list[str], scale: int, max_errors: int
) -> tuple[list[Point], list[tuple[int, str]], bool]:
    points: list[Point] = []
    errors: list[tuple[int, str]] = []
    series: dict[str, tuple[str, dict[str, str]]] = {}
    fast = _parse_fast
    append = points.append
    number = 0
    for raw in lines:
        number += 1
        line = raw.strip(" \t\r")
        if not line or line[0] == "#":
            continue
        point = None
        if "\\" not in line and '"' not in line:
            point = fast(line, number, scale, series)
        if point is None:
            try:
                point = _parse_slow(line, number, scale)
            except _LineError as exc:
                errors.append((number, str(exc)))
                if len(errors) > max_errors:
                    return points, errors[:max_errors], True
                continue
        append(point)
    return points, errors, False


def _parse_fast(
    line: str, number: int, scale: int, series: dict[str, tuple[str, dict[str, str]]]
) -> Point | None:
    """Parse a line free of backslashes and double quotes, or return None if unsure.

    None sends the line to the scanner, which decides and words any error, so this function
    may only accept what the scanner accepts, with the same result.
    """
    parts = line.split(" ")
    if len(parts) == 3:
        key, field_set, stamp = parts
        if not (stamp.isdecimal() or (stamp[:1] == "-" and stamp[1:].isdecimal())):
            return None
        if not stamp.isascii():
            return None
        stamp_ns = int(stamp) * scale
        if not _TIME_MIN_NS <= stamp_ns <= _TIME_MAX_NS:
            return None
        time_ns: int | None = stamp_ns
    elif len(parts) == 2:
        key, field_set = parts
        time_ns = None
    else:
        return None

    known = series.get(key)
    if known is None:
        known = _parse_series_fast(key)
        if known is None:
            return None
        series[key] = known
    measurement, tags = known

    tokens = field_set.replace("=", ",").split(",")
    count = len(tokens) >> 1
    shape = _SEPARATOR_SHAPES.get(count)
    if shape is None:
        if count == 0:
            return None
        shape = b"=," * (count - 1) + b"="
        if count <= 1024:
            _SEPARATOR_SHAPES[count] = shape
    if field_set.encode("utf-8", "surrogatepass").translate(None, _NOT_SEPARATOR) != shape:
        return None
    keys = tokens[::2]
    values = tokens[1::2]
    fields: dict[str, FieldValue]
    try:
        floats = list(map(float, values))
    except ValueError:
        # Integers, unsigned integers, booleans, or garbage: one value at a time.
        converted = _convert_fast(keys, values)
        if converted is None:
            return None
        fields = converted
    else:
        # float() is laxer than line protocol: it accepts "+1", "1_0", " 1", "inf", "nan"
        # and non-ASCII digits. The character set and the finite sum rule those out.
        joined = ",".join(values)
        if _FLOAT_CHARS_RE.fullmatch(joined) is None:
            return None
        if "+" in joined and (joined[0] == "+" or ",+" in joined):
            return None
        # inf or nan anywhere makes the sum non-finite (a finite sum that overflows only
        # costs a trip to the scanner).
        total = sum(floats)
        if total - total != 0.0:
            return None
        fields = dict(zip(keys, floats, strict=True))
    if len(fields) != count or "" in fields:
        return None
    return Point(measurement, tags.copy(), fields, time_ns, number)


def _parse_series_fast(key: str) -> tuple[str, dict[str, str]] | None:
    if "," not in key:
        return (key, {}) if key else None
    measurement, *pairs = key.split(",")
    if not measurement:
        return None
    tags: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not name or not equals or not value or "=" in value:
            return None
        tags[name] = value
    if len(tags) != len(pairs):
        return None
    return measurement, tags


def _convert_fast(keys: list[str], values: list[str]) -> dict[str, FieldValue] | None:
    fields: dict[str, FieldValue] = {}
    for key, value in zip(keys, values, strict=True):
        if not value:
            return None
        last = value[-1]
        converted: FieldValue
        if last == "i":
            digits = value[:-1]
            unsigned = digits[1:] if digits[:1] == "-" else digits
            if not (unsigned.isdecimal() and unsigned.isascii()):
                return None
            converted = int(digits)
            if not _INT64_MIN <= converted <= _INT64_MAX:
                return None
        elif last == "u":
            digits = value[:-1]
            if not (digits.isdecimal() and digits.isascii()):
                return None
            converted = int(digits)
            if converted > _UINT64_MAX:
                return None
        elif value in _BOOLS:
            converted = _BOOLS[value]
        elif (
            value[0] in _NUMBER_START
            and last in _FLOAT_END
            and value.isascii()
            and "_" not in value
        ):
            # First and last character rule out signs, blanks, inf and nan; the rest of
            # float()'s grammar is line protocol's.
            try:
                converted = float(value)
            except ValueError:
                return None
            if not math.isfinite(converted):
                return None
        else:
            return None
        fields[key] = converted
    return fields


def _parse_slow(line: str, number: int, scale: int) -> Point:
    """Scan one stripped, non-comment line; raise _LineError saying what is wrong."""
    end = len(line)
    match = _MEASUREMENT_RE.match(line)
    assert match is not None  # the pattern matches the empty string
    pos = match.end()
    if pos == 0:
        raise _LineError("missing measurement")
    measurement = _unescape(match.group(), _MEASUREMENT_ESCAPES)

    tags: dict[str, str] = {}
    while pos < end and line[pos] == ",":
        key, pos = _scan_key(line, pos + 1)
        if not key:
            raise _LineError("empty tag key")
        if pos == end or line[pos] != "=":
            raise _LineError(f"tag {_quote(key)}: missing '='")
        tag_value, pos = _scan_key(line, pos + 1)
        if not tag_value:
            raise _LineError(f"tag {_quote(key)}: empty value")
        if pos < end and line[pos] == "=":
            raise _LineError(f"tag {_quote(key)}: unescaped '=' in value")
        if key in tags:
            raise _LineError(f"tag {_quote(key)}: duplicate key")
        tags[key] = tag_value

    pos = _skip_spaces(line, pos)
    if pos == end:
        raise _LineError("missing field set")

    fields: dict[str, FieldValue] = {}
    while True:
        key, pos = _scan_key(line, pos)
        if not key:
            raise _LineError("empty field key")
        if pos == end or line[pos] != "=":
            raise _LineError(f"field {_quote(key)}: missing '='")
        pos += 1
        value: FieldValue
        if pos < end and line[pos] == '"':
            string = _STRING_RE.match(line, pos)
            if string is None:
                raise _LineError(f"field {_quote(key)}: unterminated string")
            pos = string.end()
            text = string.group(1)
            if "\\" in text:
                text = _STRING_UNESCAPE_RE.sub(r"\1", text)
            # Four UTF-8 bytes at most per character: encode only strings that might be long.
            if len(text) > _MAX_STRING_BYTES // 4 and _utf8_len(text) > _MAX_STRING_BYTES:
                raise _LineError(f"field {_quote(key)}: string longer than 64 KiB")
            value = text
        else:
            bare = _BARE_VALUE_RE.match(line, pos)
            assert bare is not None  # the pattern matches the empty string
            pos = bare.end()
            value = _convert(key, bare.group())
        if key in fields:
            raise _LineError(f"field {_quote(key)}: duplicate key")
        fields[key] = value
        if pos == end:
            return Point(measurement, tags, fields, None, number)
        if line[pos] == ",":
            pos += 1
            continue
        if line[pos] == " ":
            break
        raise _LineError(f"field {_quote(key)}: unexpected {_quote(line[pos])} after value")

    pos = _skip_spaces(line, pos)
    if pos == end:
        return Point(measurement, tags, fields, None, number)
    stamp, _, rest = line[pos:].partition(" ")
    if _TIME_RE.fullmatch(stamp) is None:
        raise _LineError(f"invalid timestamp {_quote(stamp)}")
    if rest:
        raise _LineError(f"unexpected text after timestamp: {_quote(rest.lstrip(' '))}")
    time_ns = int(stamp) * scale
    if not _TIME_MIN_NS <= time_ns <= _TIME_MAX_NS:
        raise _LineError(f"timestamp {_quote(stamp)} out of range")
    return Point(measurement, tags, fields, time_ns, number)


def _scan_key(line: str, pos: int) -> tuple[str, int]:
    match = _KEY_RE.match(line, pos)
    assert match is not None  # the pattern matches the empty string
    return _unescape(match.group(), _KEY_ESCAPES), match.end()


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _skip_spaces(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] == " ":
        pos += 1
    return pos


def _unescape(token: str, escapes: tuple[tuple[str, str], ...]) -> str:
    # Sequential replace is exact here: a backslash is never itself escapable in these
    # contexts, so every backslash before an escapable character is an escape.
    if "\\" in token:
        for escaped, plain in escapes:
            token = token.replace(escaped, plain)
    return token


def _convert(key: str, text: str) -> FieldValue:
    field = f"field {_quote(key)}"
    if not text:
        raise _LineError(f"{field}: missing value")
    first, last = text[0], text[-1]
    if first in "tTfF":
        if text in _BOOLS:
            return _BOOLS[text]
        raise _LineError(f"{field}: invalid boolean {_quote(text)}")
    if first not in _NUMBER_START:
        raise _LineError(f"{field}: invalid value {_quote(text)}")
    if last == "i":
        if _INT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise _LineError(f"{field}: invalid integer {_quote(text)}")
        integer = int(text[:-1])
        if not _INT64_MIN <= integer <= _INT64_MAX:
            raise _LineError(f"{field}: integer {_quote(text)} out of int64 range")
        return integer
    if last == "u":
        if _UINT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise _LineError(f"{field}: invalid unsigned integer {_quote(text)}")
        integer = int(text[:-1])
        if integer > _UINT64_MAX:
            raise _LineError(f"{field}: unsigned integer {_quote(text)} out of uint64 range")
        return integer
    if _FLOAT_RE.fullmatch(text) is None:
        raise _LineError(f"{field}: invalid number {_quote(text)}")
    number = float(text)
    if not math.isfinite(number):
        raise _LineError(f"{field}: number {_quote(text)} out of float64 range")
    return number


def _quote(text: str, limit: int = 40) -> str:
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False)


# Encoding


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
    parts = [_escape_name(point.measurement, "measurement", _MEASUREMENT_ESCAPES)]
    for key, tag_value in point.tags.items():
        parts.append(",")
        parts.append(_escape_name(key, "tag key", _KEY_ESCAPES))
        parts.append("=")
        parts.append(_escape_name(tag_value, f"tag {key!r} value", _KEY_ESCAPES))
    separator = " "
    for key, value in point.fields.items():
        parts.append(separator)
        parts.append(_escape_name(key, "field key", _KEY_ESCAPES))
        parts.append("=")
        parts.append(_encode_value(key, value))
        separator = ","
    if point.time_ns is not None:
        if not _TIME_MIN_NS <= point.time_ns <= _TIME_MAX_NS:
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
        if _INT64_MIN <= value <= _INT64_MAX:
            return f"{value}i"
        if 0 <= value <= _UINT64_MAX:
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
