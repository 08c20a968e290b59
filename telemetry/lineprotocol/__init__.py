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

from typing import NoReturn

from telemetry.lineprotocol.common import (
    NS_PER_UNIT,
    FieldValue,
    LineError,
    LineProtocolError,
    Point,
    Precision,
)
from telemetry.lineprotocol.encode import encode
from telemetry.lineprotocol.fast import parse_escaped, parse_plain
from telemetry.lineprotocol.scan import parse_slow

# Internals that the tests and bench/lineprotocol.py reach through this module.
from telemetry.lineprotocol.schema import COMPILE_BURST, COMPILE_COST, SCHEMA_CACHE  # noqa: F401

__all__ = ["FieldValue", "LineProtocolError", "Point", "Precision", "encode", "parse"]


def parse(body: str | bytes, *, precision: Precision = "ns", max_errors: int = 20) -> list[Point]:
    """Parse a whole write body, all or nothing.

    Raises LineProtocolError naming up to ``max_errors`` bad lines (stopping early past that),
    and ValueError for an unknown ``precision`` or a ``max_errors`` below 1.
    """
    scale = NS_PER_UNIT.get(precision)
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
            point = parse_plain(line, number, scale, series)
        else:
            point = parse_escaped(line, number, scale, series)
        if point is None:
            try:
                point = parse_slow(line, number, scale)
            except LineError as exc:
                errors.append((number, str(exc)))
                if len(errors) > max_errors:
                    return points, errors[:max_errors], True
                continue
        append(point)
    return points, errors, False
