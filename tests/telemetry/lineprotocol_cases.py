"""Shared helpers for the telemetry.lineprotocol tests (test_lineprotocol_*.py).

Every valid line is parsed three ways (by the scanner alone, cold, and after the field-set
schema is learned) and the results must agree, so the fast paths can only ever be faster.

Each test module imports ``cold_schema_cache`` so that it applies there (it is autouse).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from telemetry import lineprotocol
from telemetry.lineprotocol import LineProtocolError, Point, parse

NS = 1556813561098000000


@pytest.fixture(autouse=True)
def cold_schema_cache() -> Iterator[None]:
    """Learned schemas are process-wide; each test starts from none."""
    lineprotocol.SCHEMA_CACHE.clear()
    yield
    lineprotocol.SCHEMA_CACHE.clear()


def parse_one(line: str, *, precision: lineprotocol.Precision = "ns") -> Point:
    """Parse ``line`` by the scanner, cold, and warm; check they agree; return the point."""
    scale = lineprotocol.NS_PER_UNIT[precision]
    by_scanner = lineprotocol.parse_slow(line.strip(" \t\r"), 1, scale)
    (cold,) = parse(line, precision=precision)
    # Three copies: the first two teach the schema, the third uses it.
    warm = parse("\n".join([line] * 3), precision=precision)
    assert cold == by_scanner
    assert [p.line for p in warm] == [1, 2, 3]
    for point in warm:
        point.line = 1
        assert point == by_scanner
    return cold


def error_of(body: str | bytes, *, precision: lineprotocol.Precision = "ns") -> str:
    """The single error message for a one-line body."""
    with pytest.raises(LineProtocolError) as raised:
        parse(body, precision=precision)
    assert raised.value.truncated is False
    [(number, message)] = raised.value.errors
    assert number == 1
    return message


def field_of(value: str) -> float | int | bool | str:
    return parse_one(f"m f={value} 1").fields["f"]
