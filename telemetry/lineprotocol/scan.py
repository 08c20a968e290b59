"""The scanner: the authority on validity and on error messages."""

from __future__ import annotations

import json
import math
import re

from telemetry.lineprotocol.common import (
    BOOLS,
    INT64_MAX,
    INT64_MIN,
    KEY_ESCAPES,
    MAX_STRING_BYTES,
    MEASUREMENT_ESCAPES,
    NUMBER_START,
    TIME_MAX_NS,
    TIME_MIN_NS,
    UINT64_MAX,
    FieldValue,
    LineError,
    Point,
)

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


def parse_slow(line: str, number: int, scale: int) -> Point:
    """Scan one stripped, non-comment line; raise LineError saying what is wrong."""
    measurement, tags, pos = scan_series(line)
    pos = skip_spaces(line, pos)
    if pos == len(line):
        raise LineError("missing field set")
    fields, pos = _scan_fields(line, pos)
    return Point(measurement, tags, fields, scan_time(line, pos, scale), number)


def scan_series(line: str) -> tuple[str, dict[str, str], int]:
    """Measurement and tags from the start of ``line``, and where they end."""
    end = len(line)
    match = _MEASUREMENT_RE.match(line)
    assert match is not None  # the pattern matches the empty string
    pos = match.end()
    if pos == 0:
        raise LineError("missing measurement")
    measurement = _unescape(match.group(), MEASUREMENT_ESCAPES)
    tags: dict[str, str] = {}
    while pos < end and line[pos] == ",":
        key, pos = _scan_key(line, pos + 1)
        if not key:
            raise LineError("empty tag key")
        if pos == end or line[pos] != "=":
            raise LineError(f"tag {_quote(key)}: missing '='")
        value, pos = _scan_key(line, pos + 1)
        if not value:
            raise LineError(f"tag {_quote(key)}: empty value")
        if pos < end and line[pos] == "=":
            raise LineError(f"tag {_quote(key)}: unescaped '=' in value")
        if key in tags:
            raise LineError(f"tag {_quote(key)}: duplicate key")
        tags[key] = value
    return measurement, tags, pos


def _scan_fields(line: str, pos: int) -> tuple[dict[str, FieldValue], int]:
    """The field set starting at ``pos``, and where it ends."""
    end = len(line)
    fields: dict[str, FieldValue] = {}
    while True:
        key, value, pos = scan_field(line, pos)
        if key in fields:
            raise LineError(f"field {_quote(key)}: duplicate key")
        fields[key] = value
        if pos == end or line[pos] == " ":
            return fields, pos
        if line[pos] != ",":
            raise LineError(f"field {_quote(key)}: unexpected {_quote(line[pos])} after value")
        pos += 1


def scan_field(line: str, pos: int) -> tuple[str, FieldValue, int]:
    """One ``key=value`` starting at ``pos``, and where it ends."""
    end = len(line)
    key, pos = _scan_key(line, pos)
    if not key:
        raise LineError("empty field key")
    if pos == end or line[pos] != "=":
        raise LineError(f"field {_quote(key)}: missing '='")
    pos += 1
    if pos < end and line[pos] == '"':
        string = _STRING_RE.match(line, pos)
        if string is None:
            raise LineError(f"field {_quote(key)}: unterminated string")
        text = string.group(1)
        if "\\" in text:
            text = _STRING_UNESCAPE_RE.sub(r"\1", text)
        # Four UTF-8 bytes at most per character: encode only strings that might be long.
        if len(text) > MAX_STRING_BYTES // 4 and _utf8_len(text) > MAX_STRING_BYTES:
            raise LineError(f"field {_quote(key)}: string longer than 64 KiB")
        return key, text, string.end()
    bare = _BARE_VALUE_RE.match(line, pos)
    assert bare is not None  # the pattern matches the empty string
    return key, _convert(key, bare.group()), bare.end()


def scan_time(line: str, pos: int, scale: int) -> int | None:
    pos = skip_spaces(line, pos)
    if pos == len(line):
        return None
    stamp, _, rest = line[pos:].partition(" ")
    if _TIME_RE.fullmatch(stamp) is None:
        raise LineError(f"invalid timestamp {_quote(stamp)}")
    if rest:
        raise LineError(f"unexpected text after timestamp: {_quote(rest.lstrip(' '))}")
    time_ns = int(stamp) * scale
    if not TIME_MIN_NS <= time_ns <= TIME_MAX_NS:
        raise LineError(f"timestamp {_quote(stamp)} out of range")
    return time_ns


def _scan_key(line: str, pos: int) -> tuple[str, int]:
    match = _KEY_RE.match(line, pos)
    assert match is not None  # the pattern matches the empty string
    return _unescape(match.group(), KEY_ESCAPES), match.end()


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def skip_spaces(line: str, pos: int) -> int:
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
    if not text:
        raise LineError(f"field {_quote(key)}: missing value")
    first, last = text[0], text[-1]
    if first in "tTfF":
        if text in BOOLS:
            return BOOLS[text]
        raise LineError(f"field {_quote(key)}: invalid boolean {_quote(text)}")
    if first not in NUMBER_START:
        raise LineError(f"field {_quote(key)}: invalid value {_quote(text)}")
    if last == "i":
        if _INT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise LineError(f"field {_quote(key)}: invalid integer {_quote(text)}")
        integer = int(text[:-1])
        if not INT64_MIN <= integer <= INT64_MAX:
            raise LineError(f"field {_quote(key)}: integer {_quote(text)} out of int64 range")
        return integer
    if last == "u":
        if _UINT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise LineError(f"field {_quote(key)}: invalid unsigned integer {_quote(text)}")
        integer = int(text[:-1])
        if integer > UINT64_MAX:
            raise LineError(
                f"field {_quote(key)}: unsigned integer {_quote(text)} out of uint64 range"
            )
        return integer
    if _FLOAT_RE.fullmatch(text) is None:
        raise LineError(f"field {_quote(key)}: invalid number {_quote(text)}")
    number = float(text)
    if not math.isfinite(number):
        raise LineError(f"field {_quote(key)}: number {_quote(text)} out of float64 range")
    return number


def _quote(text: str, limit: int = 40) -> str:
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False)
