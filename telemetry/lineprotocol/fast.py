"""Fast paths: lines with no escapes or strings, and the plain runs of those with them."""

from __future__ import annotations

import math
import re

from telemetry.lineprotocol.common import (
    BOOLS,
    FLOAT_END,
    INT64_MAX,
    INT64_MIN,
    NUMBER_START,
    TIME_MAX_NS,
    TIME_MIN_NS,
    UINT64_MAX,
    FieldValue,
    LineError,
    Point,
    finite_sum,
)
from telemetry.lineprotocol.scan import scan_field, scan_series, scan_time, skip_spaces
from telemetry.lineprotocol.schema import SCHEMA_CACHE

# Fast path helpers. Deleting every byte but "=" and "," from a field set leaves "=,=,...="
# exactly when each comma-separated pair has exactly one "=".
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b"=,")
_SEPARATOR_SHAPES: dict[int, bytes] = {}
_SHAPE_CACHE_MAX_FIELDS = 1024
_FLOAT_CHARS_RE = re.compile(r"[0-9.eE+\-,]*+")
_PLAIN_RUN_RE = re.compile(r'[^ "\\]*+')
# Measurement and tags end at the first unescaped space (a space is escapable in both).
_SERIES_END_RE = re.compile(r"(?:[^\\ ]++|\\ ?+)*+")


# Fast paths. Each returns None when unsure; the line then goes to parse_slow, which decides
# and words any error. So a fast path may only accept what parse_slow accepts, with the same
# result (tests/telemetry/test_lineprotocol_*.py check this on every table line).


def parse_plain(
    line: str, number: int, scale: int, series: dict[str, tuple[str, dict[str, str]]]
) -> Point | None:
    """A line with no backslash and no double quote: str methods only."""
    parts = line.split(" ")
    if len(parts) == 3:
        key, field_set, stamp = parts
        time_ns = _time_fast(stamp, scale)
        if time_ns is None:
            return None
    elif len(parts) == 2:
        key, field_set = parts
        time_ns = None
    else:
        return None
    known = series.get(key)
    if known is None:
        known = _series_plain(key)
        if known is None:
            return None
        series[key] = known
    fields = _fields_fast(known[0], field_set)
    if fields is None:
        return None
    return Point(known[0], known[1].copy(), fields, time_ns, number)


def parse_escaped(
    line: str, number: int, scale: int, series: dict[str, tuple[str, dict[str, str]]]
) -> Point | None:
    """A line with escapes or quotes: scan what needs it, split the rest."""
    match = _SERIES_END_RE.match(line)
    assert match is not None  # the pattern matches the empty string
    end = match.end()
    key = line[:end]
    known = series.get(key)
    if known is None:
        try:
            measurement, tags, scanned = scan_series(key)
        except LineError:
            return None
        if scanned != end:
            return None
        known = series[key] = (measurement, tags)
    start = skip_spaces(line, end)
    if start == len(line):
        return None
    rest = line[start:]
    time_ns: int | None
    if "\\" not in rest and '"' not in rest:
        parts = rest.split(" ")
        if len(parts) > 2:
            return None
        fields = _fields_fast(known[0], parts[0])
        if fields is None:
            return None
        time_ns = _time_fast(parts[1], scale) if len(parts) == 2 else None
        if len(parts) == 2 and time_ns is None:
            return None
    else:
        mixed = _fields_mixed(line, start)
        if mixed is None:
            return None
        fields, pos = mixed
        try:
            time_ns = scan_time(line, pos, scale)
        except LineError:
            return None
    return Point(known[0], known[1].copy(), fields, time_ns, number)


def _time_fast(stamp: str, scale: int) -> int | None:
    if not (stamp.isdecimal() or (stamp[:1] == "-" and stamp[1:].isdecimal())):
        return None
    if not stamp.isascii():
        return None
    time_ns = int(stamp) * scale
    if not TIME_MIN_NS <= time_ns <= TIME_MAX_NS:
        return None
    return time_ns


def _series_plain(key: str) -> tuple[str, dict[str, str]] | None:
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


def _fields_fast(measurement: str, field_set: str) -> dict[str, FieldValue] | None:
    """A whole field set with no backslash, quote or space."""
    schema = SCHEMA_CACHE.by_measurement.get(measurement)
    if schema is not None:
        match = schema.pattern.fullmatch(field_set)
        if match is not None:
            fields = schema.fields(match.groups())
            if fields is not None:
                return fields
    bulk = _fields_bulk(field_set)
    if bulk is None:
        return None
    fields, types = bulk
    SCHEMA_CACHE.learn(measurement, tuple(fields), types)
    return fields


def _fields_bulk(field_set: str) -> tuple[dict[str, FieldValue], str] | None:
    """Fields and their type letters (f, i, u, b) from pairs with no backslash, quote or space."""
    tokens = field_set.replace("=", ",").split(",")
    count = len(tokens) >> 1
    shape = _SEPARATOR_SHAPES.get(count)
    if shape is None:
        if count == 0:
            return None
        shape = b"=," * (count - 1) + b"="
        if count <= _SHAPE_CACHE_MAX_FIELDS:
            _SEPARATOR_SHAPES[count] = shape
    if field_set.encode("utf-8", "surrogatepass").translate(None, _NOT_SEPARATOR) != shape:
        return None
    keys = tokens[::2]
    values = tokens[1::2]
    try:
        floats = list(map(float, values))
    except ValueError:
        # Integers, unsigned integers, booleans, or garbage: one value at a time.
        converted = _convert_fast(keys, values)
        if converted is None:
            return None
        fields, types = converted
    else:
        # float() is laxer than line protocol: it accepts "+1", "1_0", " 1", "inf", "nan"
        # and non-ASCII digits. The character set and the finite sum rule those out.
        joined = ",".join(values)
        if _FLOAT_CHARS_RE.fullmatch(joined) is None:
            return None
        if "+" in joined and (joined[0] == "+" or ",+" in joined):
            return None
        if not finite_sum(floats):
            return None
        fields = dict(zip(keys, floats, strict=True))
        types = "f" * count
    if len(fields) != count or "" in fields:
        return None
    return fields, types


def _fields_mixed(line: str, pos: int) -> tuple[dict[str, FieldValue], int] | None:
    """The field set at ``pos`` when it holds escapes or strings, and where it ends.

    Runs of plain pairs between the fields that need the scanner are converted in bulk.
    """
    end = len(line)
    fields: dict[str, FieldValue] = {}
    while True:
        run = _PLAIN_RUN_RE.match(line, pos)
        assert run is not None  # the pattern matches the empty string
        stop = run.end()
        if stop == end or line[stop] == " ":
            # Plain to the end of the field set.
            if not _merge_bulk(fields, line[pos:stop]):
                return None
            return fields, stop
        # A quote or backslash at ``stop``: pairs before the last comma are complete.
        cut = line.rfind(",", pos, stop)
        if cut >= 0:
            if not _merge_bulk(fields, line[pos:cut]):
                return None
            pos = cut + 1
        try:
            key, value, pos = scan_field(line, pos)
        except LineError:
            return None
        if key in fields:
            return None
        fields[key] = value
        if pos == end or line[pos] == " ":
            return fields, pos
        if line[pos] != ",":
            return None
        pos += 1


def _merge_bulk(fields: dict[str, FieldValue], pairs: str) -> bool:
    bulk = _fields_bulk(pairs)
    if bulk is None:
        return False
    before = len(fields)
    fields.update(bulk[0])
    return len(fields) == before + len(bulk[0])


def _convert_fast(keys: list[str], values: list[str]) -> tuple[dict[str, FieldValue], str] | None:
    """Fields and their type letters (f, i, u, b), or None if any value is in doubt."""
    fields: dict[str, FieldValue] = {}
    types: list[str] = []
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
            if not INT64_MIN <= converted <= INT64_MAX:
                return None
            types.append("i")
        elif last == "u":
            digits = value[:-1]
            if not (digits.isdecimal() and digits.isascii()):
                return None
            converted = int(digits)
            if converted > UINT64_MAX:
                return None
            types.append("u")
        elif value in BOOLS:
            converted = BOOLS[value]
            types.append("b")
        elif (
            value[0] in NUMBER_START and last in FLOAT_END and value.isascii() and "_" not in value
        ):
            # First and last character rule out signs, blanks, inf and nan; the rest of
            # float()'s grammar is line protocol's.
            try:
                converted = float(value)
            except ValueError:
                return None
            if not math.isfinite(converted):
                return None
            types.append("f")
        else:
            return None
        fields[key] = converted
    return fields, "".join(types)
