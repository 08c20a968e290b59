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

Speed, in three tiers that must all agree (the tests parse every line each way):

* A line with no backslash and no double quote (the usual Telegraf or client-library line) is
  split with ``str`` methods; its field set is checked and converted in bulk with C-level calls
  (``split``, ``bytes.translate``, ``map(float, ...)``, ``dict(zip(...))``). Once a
  measurement's field keys and types have been seen twice, one compiled pattern for that shape
  checks and captures the whole field set in a single call (see ``_SchemaCache``).
* A line with escapes or strings has its measurement and tags scanned (once per distinct series
  text in a body), the plain runs of its field set converted in bulk, and only the fields that
  need it scanned.
* Anything a fast tier is unsure of goes to the scanner, which alone decides what is invalid
  and says why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import call, itemgetter
from typing import Any, Literal, NoReturn

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
_SHAPE_CACHE_MAX_FIELDS = 1024
_FLOAT_CHARS_RE = re.compile(r"[0-9.eE+\-,]*+")
_PLAIN_RUN_RE = re.compile(r'[^ "\\]*+')
# Measurement and tags end at the first unescaped space (a space is escapable in both).
_SERIES_END_RE = re.compile(r"(?:[^\\ ]++|\\ ?+)*+")


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
            _parse_undecodable(bytes(body), scale, max_errors)
    else:
        text = body
    points, errors, truncated = _parse_lines(text.split("\n"), scale, max_errors)
    if errors:
        raise LineProtocolError(errors, truncated=truncated)
    return points


def _parse_undecodable(body: bytes, scale: int, max_errors: int) -> NoReturn:
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
    # Raw series text (measurement and tags as written) -> parsed; a batch repeats its series.
    series: dict[str, tuple[str, dict[str, str]]] = {}
    append = points.append
    number = 0
    for raw in lines:
        number += 1
        line = raw.strip(" \t\r")
        if not line or line[0] == "#":
            continue
        if "\\" not in line and '"' not in line:
            point = _parse_plain(line, number, scale, series)
        else:
            point = _parse_escaped(line, number, scale, series)
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


# Fast paths. Each returns None when unsure; the line then goes to _parse_slow, which decides
# and words any error. So a fast path may only accept what _parse_slow accepts, with the same
# result (tests/telemetry/test_lineprotocol.py checks this on every table line).


def _parse_plain(
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


def _parse_escaped(
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
            measurement, tags, scanned = _scan_series(key)
        except _LineError:
            return None
        if scanned != end:
            return None
        known = series[key] = (measurement, tags)
    start = _skip_spaces(line, end)
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
            time_ns = _scan_time(line, pos, scale)
        except _LineError:
            return None
    return Point(known[0], known[1].copy(), fields, time_ns, number)


def _time_fast(stamp: str, scale: int) -> int | None:
    if not (stamp.isdecimal() or (stamp[:1] == "-" and stamp[1:].isdecimal())):
        return None
    if not stamp.isascii():
        return None
    time_ns = int(stamp) * scale
    if not _TIME_MIN_NS <= time_ns <= _TIME_MAX_NS:
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
    schema = _SCHEMA_CACHE.by_measurement.get(measurement)
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
    _SCHEMA_CACHE.learn(measurement, tuple(fields), types)
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
        if not _finite_sum(floats):
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
            key, value, pos = _scan_field(line, pos)
        except _LineError:
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


def _finite_sum(floats: Iterable[float]) -> bool:
    # inf or nan anywhere makes the sum non-finite; a finite sum that overflows only costs a
    # trip to the scanner.
    total = sum(floats)
    return total - total == 0.0


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
            if not _INT64_MIN <= converted <= _INT64_MAX:
                return None
            types.append("i")
        elif last == "u":
            digits = value[:-1]
            if not (digits.isdecimal() and digits.isascii()):
                return None
            converted = int(digits)
            if converted > _UINT64_MAX:
                return None
            types.append("u")
        elif value in _BOOLS:
            converted = _BOOLS[value]
            types.append("b")
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
            types.append("f")
        else:
            return None
        fields[key] = converted
    return fields, "".join(types)


# Learned field-set schemas. Telemetry repeats the same field keys and types line after line.
# Once a (keys, types) shape has been seen twice, one compiled pattern per shape checks a whole
# field set and captures its values, so keys are neither split out nor hashed again per line.
# The cache is process-wide (a request often holds one line per node) and bounded.

_SCHEMA_MAX_FIELDS = 256
_SCHEMA_CACHE_SIZE = 1024
_COMPILE_COST = 256  # lines parsed without a schema, per compile
_COMPILE_BURST = 16  # compiles allowed up front
_VALUE_GROUPS = {
    "f": r"(-?[0-9.][0-9.eE+\-]*+)",
    "i": r"(-?[0-9]++)i",
    "b": r"(true|True|TRUE|t|T|false|False|FALSE|f|F)",
}
_CONVERTERS: dict[str, Callable[[str], FieldValue]] = {
    "f": float,
    "i": int,
    "b": _BOOLS.__getitem__,
}
_Picker = Callable[[list[FieldValue]], tuple[Any, ...]]


def _picker(positions: list[int]) -> _Picker | None:
    if not positions:
        return None
    # itemgetter returns a bare item, not a tuple, for a single position.
    return itemgetter(*positions) if len(positions) > 1 else itemgetter(positions[0], positions[0])


class _Schema:
    __slots__ = ("converters", "floats_at", "ints_at", "keys", "pattern", "template")

    def __init__(self, keys: tuple[str, ...], types: str) -> None:
        self.keys = keys
        # Copying a dict of the right keys and updating it beats building one: no resizing,
        # no hashing of new key strings.
        self.template: dict[str, FieldValue] = {key: 0.0 for key in keys}
        self.pattern = re.compile(
            ",".join(
                re.escape(key) + "=" + _VALUE_GROUPS[kind]
                for key, kind in zip(keys, types, strict=True)
            )
        )
        self.converters: tuple[Callable[[str], FieldValue], ...] | None = None
        self.floats_at: _Picker | None = None
        self.ints_at: _Picker | None = None
        if types.strip("f"):
            self.converters = tuple(_CONVERTERS[kind] for kind in types)
            self.floats_at = _picker([i for i, kind in enumerate(types) if kind == "f"])
            self.ints_at = _picker([i for i, kind in enumerate(types) if kind == "i"])

    def fields(self, values: tuple[str, ...]) -> dict[str, FieldValue] | None:
        """The field set for captured ``values``, or None if a value is not acceptable."""
        converters = self.converters
        if converters is None:
            try:
                floats = list(map(float, values))
            except ValueError:
                return None
            if not _finite_sum(floats):
                return None
            return self._fill(floats)
        try:
            converted = list(map(call, converters, values))
        except ValueError:
            return None
        if self.floats_at is not None and not _finite_sum(self.floats_at(converted)):
            return None
        if self.ints_at is not None:
            ints = self.ints_at(converted)
            if min(ints) < _INT64_MIN or max(ints) > _INT64_MAX:
                return None
        return self._fill(converted)

    def _fill(self, values: Sequence[FieldValue]) -> dict[str, FieldValue]:
        fields = self.template.copy()
        fields.update(zip(self.keys, values, strict=True))
        return fields


_Shape = tuple[tuple[str, ...], str]


class _SchemaCache:
    """Learned schemas, bounded in number and in compile work.

    Compiling costs as much as parsing tens of lines, so compiles are paid for with credit
    earned by lines parsed without a schema: a body of ever-new shapes cannot make the parser
    spend most of its time compiling.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.by_measurement: dict[str, _Schema] = {}
        self.schemas: dict[_Shape, _Schema] = {}
        self.sightings: dict[_Shape, int] = {}
        self.credit = _COMPILE_BURST * _COMPILE_COST

    def learn(self, measurement: str, keys: tuple[str, ...], types: str) -> None:
        """Note a field set parsed without a schema; compile its shape on a second sighting."""
        if self.credit < _COMPILE_BURST * _COMPILE_COST:
            self.credit += 1
        if len(keys) > _SCHEMA_MAX_FIELDS or "u" in types:
            return
        shape = (keys, types)
        schema = self.schemas.get(shape)
        if schema is None:
            if self.sightings.pop(shape, None) is None or self.credit < _COMPILE_COST:
                if len(self.sightings) >= _SCHEMA_CACHE_SIZE:
                    self.sightings.clear()
                self.sightings[shape] = 1
                return
            self.credit -= _COMPILE_COST
            if len(self.schemas) >= _SCHEMA_CACHE_SIZE:
                self.schemas.clear()
            schema = self.schemas[shape] = _Schema(*shape)
        if len(self.by_measurement) >= _SCHEMA_CACHE_SIZE:
            self.by_measurement.clear()
        self.by_measurement[measurement] = schema


_SCHEMA_CACHE = _SchemaCache()


# The scanner: the authority on validity and on error messages.


def _parse_slow(line: str, number: int, scale: int) -> Point:
    """Scan one stripped, non-comment line; raise _LineError saying what is wrong."""
    measurement, tags, pos = _scan_series(line)
    pos = _skip_spaces(line, pos)
    if pos == len(line):
        raise _LineError("missing field set")
    fields, pos = _scan_fields(line, pos)
    return Point(measurement, tags, fields, _scan_time(line, pos, scale), number)


def _scan_series(line: str) -> tuple[str, dict[str, str], int]:
    """Measurement and tags from the start of ``line``, and where they end."""
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
        value, pos = _scan_key(line, pos + 1)
        if not value:
            raise _LineError(f"tag {_quote(key)}: empty value")
        if pos < end and line[pos] == "=":
            raise _LineError(f"tag {_quote(key)}: unescaped '=' in value")
        if key in tags:
            raise _LineError(f"tag {_quote(key)}: duplicate key")
        tags[key] = value
    return measurement, tags, pos


def _scan_fields(line: str, pos: int) -> tuple[dict[str, FieldValue], int]:
    """The field set starting at ``pos``, and where it ends."""
    end = len(line)
    fields: dict[str, FieldValue] = {}
    while True:
        key, value, pos = _scan_field(line, pos)
        if key in fields:
            raise _LineError(f"field {_quote(key)}: duplicate key")
        fields[key] = value
        if pos == end or line[pos] == " ":
            return fields, pos
        if line[pos] != ",":
            raise _LineError(f"field {_quote(key)}: unexpected {_quote(line[pos])} after value")
        pos += 1


def _scan_field(line: str, pos: int) -> tuple[str, FieldValue, int]:
    """One ``key=value`` starting at ``pos``, and where it ends."""
    end = len(line)
    key, pos = _scan_key(line, pos)
    if not key:
        raise _LineError("empty field key")
    if pos == end or line[pos] != "=":
        raise _LineError(f"field {_quote(key)}: missing '='")
    pos += 1
    if pos < end and line[pos] == '"':
        string = _STRING_RE.match(line, pos)
        if string is None:
            raise _LineError(f"field {_quote(key)}: unterminated string")
        text = string.group(1)
        if "\\" in text:
            text = _STRING_UNESCAPE_RE.sub(r"\1", text)
        # Four UTF-8 bytes at most per character: encode only strings that might be long.
        if len(text) > _MAX_STRING_BYTES // 4 and _utf8_len(text) > _MAX_STRING_BYTES:
            raise _LineError(f"field {_quote(key)}: string longer than 64 KiB")
        return key, text, string.end()
    bare = _BARE_VALUE_RE.match(line, pos)
    assert bare is not None  # the pattern matches the empty string
    return key, _convert(key, bare.group()), bare.end()


def _scan_time(line: str, pos: int, scale: int) -> int | None:
    pos = _skip_spaces(line, pos)
    if pos == len(line):
        return None
    stamp, _, rest = line[pos:].partition(" ")
    if _TIME_RE.fullmatch(stamp) is None:
        raise _LineError(f"invalid timestamp {_quote(stamp)}")
    if rest:
        raise _LineError(f"unexpected text after timestamp: {_quote(rest.lstrip(' '))}")
    time_ns = int(stamp) * scale
    if not _TIME_MIN_NS <= time_ns <= _TIME_MAX_NS:
        raise _LineError(f"timestamp {_quote(stamp)} out of range")
    return time_ns


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
    if not text:
        raise _LineError(f"field {_quote(key)}: missing value")
    first, last = text[0], text[-1]
    if first in "tTfF":
        if text in _BOOLS:
            return _BOOLS[text]
        raise _LineError(f"field {_quote(key)}: invalid boolean {_quote(text)}")
    if first not in _NUMBER_START:
        raise _LineError(f"field {_quote(key)}: invalid value {_quote(text)}")
    if last == "i":
        if _INT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise _LineError(f"field {_quote(key)}: invalid integer {_quote(text)}")
        integer = int(text[:-1])
        if not _INT64_MIN <= integer <= _INT64_MAX:
            raise _LineError(f"field {_quote(key)}: integer {_quote(text)} out of int64 range")
        return integer
    if last == "u":
        if _UINT_RE.fullmatch(text, 0, len(text) - 1) is None:
            raise _LineError(f"field {_quote(key)}: invalid unsigned integer {_quote(text)}")
        integer = int(text[:-1])
        if integer > _UINT64_MAX:
            raise _LineError(
                f"field {_quote(key)}: unsigned integer {_quote(text)} out of uint64 range"
            )
        return integer
    if _FLOAT_RE.fullmatch(text) is None:
        raise _LineError(f"field {_quote(key)}: invalid number {_quote(text)}")
    number = float(text)
    if not math.isfinite(number):
        raise _LineError(f"field {_quote(key)}: number {_quote(text)} out of float64 range")
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
