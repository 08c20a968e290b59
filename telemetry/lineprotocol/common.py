"""Types, limits and helpers shared by the parser's tiers and the encoder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Precision = Literal["ns", "us", "ms", "s"]
FieldValue = float | int | bool | str

NS_PER_UNIT: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
# The reference's timestamp bounds; InfluxDB reserves the two extreme int64 values.
TIME_MIN_NS = -(2**63) + 2
TIME_MAX_NS = 2**63 - 2
MAX_STRING_BYTES = 64 * 1024

BOOLS: dict[str, bool] = {
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
NUMBER_START = frozenset("-0123456789.")
FLOAT_END = frozenset("0123456789.")

MEASUREMENT_ESCAPES = (("\\,", ","), ("\\ ", " "))
KEY_ESCAPES = (("\\,", ","), ("\\=", "="), ("\\ ", " "))


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


class LineError(Exception):
    """One bad line, raised inside the scanner and collected by :func:`parse`."""


def finite_sum(floats: Iterable[float]) -> bool:
    # inf or nan anywhere makes the sum non-finite; a finite sum that overflows only costs a
    # trip to the scanner.
    total = sum(floats)
    return total - total == 0.0
