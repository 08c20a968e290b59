"""telemetry.lineprotocol: field values (floats, integers, booleans) and timestamps."""

from __future__ import annotations

import pytest

from telemetry import lineprotocol
from telemetry.lineprotocol import LineProtocolError, parse
from tests.telemetry.lineprotocol_cases import (  # noqa: F401 (cold_schema_cache is autouse)
    NS,
    cold_schema_cache,
    error_of,
    field_of,
    parse_one,
)

# Field values.


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1", 1.0),
        ("1.0", 1.0),
        ("-1.5e-3", -0.0015),
        ("1e+10", 1e10),
        ("1E5", 1e5),
        ("1e-5", 1e-5),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1.e3", 1000.0),
        ("007", 7.0),
        ("-0", -0.0),
        ("0.1", 0.1),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("1e-400", 0.0),  # underflow is not an error, as in Go
    ],
)
def test_float_forms(written: str, value: float) -> None:
    result = field_of(written)
    assert type(result) is float
    assert result == value


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0.8x", 'invalid number "0.8x"'),
        ("1_000", 'invalid number "1_000"'),
        ("1.5.5", 'invalid number "1.5.5"'),
        ("1e", 'invalid number "1e"'),
        ("1e+", 'invalid number "1e+"'),
        (".", 'invalid number "."'),
        ("-", 'invalid number "-"'),
        ("--1", 'invalid number "--1"'),
        ("1-", 'invalid number "1-"'),
        ("0x1p3", 'invalid number "0x1p3"'),
        ("-inf", 'invalid number "-inf"'),
        ("-nan", 'invalid number "-nan"'),
        ("1\t", 'invalid number "1\\t"'),
        ("\uff11", 'invalid value "\uff11"'),
        ("\u0661", 'invalid value "\u0661"'),
        ("1\u0661", 'invalid number "1\u0661"'),
        ("+1", 'invalid value "+1"'),
        ("inf", 'invalid value "inf"'),
        ("nan", 'invalid value "nan"'),
        ("NaN", 'invalid value "NaN"'),
        ("Infinity", 'invalid value "Infinity"'),
        ("e5", 'invalid value "e5"'),
        ("null", 'invalid value "null"'),
        ("abc", 'invalid value "abc"'),
        ("1e400", 'number "1e400" out of float64 range'),
        ("-1e309", 'number "-1e309" out of float64 range'),
    ],
)
def test_float_errors(written: str, message: str) -> None:
    assert error_of(f"m f={written} 1") == f'field "f": {message}'
    # The same value among plain float fields, and with a learned schema for the line.
    sibling = "m a=1,f=2,b=3 1"
    with pytest.raises(LineProtocolError) as raised:
        parse(f"{sibling}\n{sibling}\n{sibling}\nm a=1,f={written},b=3 1")
    assert raised.value.errors == [(4, f'field "f": {message}')]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("0i", 0),
        ("-0i", 0),
        ("12i", 12),
        ("-12i", -12),
        ("007i", 7),
        ("9223372036854775807i", 2**63 - 1),
        ("-9223372036854775808i", -(2**63)),
        ("0u", 0),
        ("12u", 12),
        ("18446744073709551615u", 2**64 - 1),
    ],
)
def test_integer_forms(written: str, value: int) -> None:
    result = field_of(written)
    assert type(result) is int
    assert result == value


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("9223372036854775808i", 'integer "9223372036854775808i" out of int64 range'),
        ("-9223372036854775809i", 'integer "-9223372036854775809i" out of int64 range'),
        ("1.5i", 'invalid integer "1.5i"'),
        ("1e3i", 'invalid integer "1e3i"'),
        ("-i", 'invalid integer "-i"'),
        ("1_0i", 'invalid integer "1_0i"'),
        ("1\u0661i", 'invalid integer "1\u0661i"'),
        ("0x10i", 'invalid integer "0x10i"'),
        ("i", 'invalid value "i"'),
        ("+1i", 'invalid value "+1i"'),
        ("18446744073709551616u", 'unsigned integer "18446744073709551616u" out of uint64 range'),
        ("-1u", 'invalid unsigned integer "-1u"'),
        ("-0u", 'invalid unsigned integer "-0u"'),
        ("1.0u", 'invalid unsigned integer "1.0u"'),
        ("u", 'invalid value "u"'),
    ],
)
def test_integer_errors(written: str, message: str) -> None:
    assert error_of(f"m f={written} 1") == f'field "f": {message}'
    sibling = "m a=1i,f=2i,b=t 1"
    with pytest.raises(LineProtocolError) as raised:
        parse(f"{sibling}\n{sibling}\n{sibling}\nm a=1i,f={written},b=t 1")
    assert raised.value.errors == [(4, f'field "f": {message}')]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("t", True),
        ("T", True),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("f", False),
        ("F", False),
        ("false", False),
        ("False", False),
        ("FALSE", False),
    ],
)
def test_booleans(written: str, value: bool) -> None:
    assert field_of(written) is value


@pytest.mark.parametrize("written", ["tRUE", "tru", "truee", "FALSe", "fa", "Tt"])
def test_boolean_errors(written: str) -> None:
    assert error_of(f"m f={written} 1") == f'field "f": invalid boolean "{written}"'


def test_quoted_boolean_is_a_string() -> None:
    assert field_of('"true"') == "true"


def test_mixed_types_in_one_line() -> None:
    line = 'm,host=a f=1.5,i=-3i,u=3u,b=true,s="x" 10'
    assert parse_one(line).fields == {"f": 1.5, "i": -3, "u": 3, "b": True, "s": "x"}


# Timestamps and precision.


@pytest.mark.parametrize(
    ("precision", "stamp", "time_ns"),
    [
        ("ns", "1556813561098000000", 1556813561098000000),
        ("us", "1556813561098000", 1556813561098000000),
        ("ms", "1556813561098", 1556813561098000000),
        ("s", "1556813561", 1556813561000000000),
        ("ns", "-5", -5),
        ("us", "-5", -5_000),
        ("ms", "-5", -5_000_000),
        ("s", "-5", -5_000_000_000),
        ("ns", "0", 0),
        ("ns", "9223372036854775806", 2**63 - 2),
        ("ns", "-9223372036854775806", -(2**63) + 2),
        ("s", "9223372036", 9223372036000000000),
        ("s", "-9223372036", -9223372036000000000),
    ],
)
def test_precision_scales_to_nanoseconds(
    precision: lineprotocol.Precision, stamp: str, time_ns: int
) -> None:
    assert parse_one(f"m f=1 {stamp}", precision=precision).time_ns == time_ns
    assert parse_one(f'm\\ x s="a" {stamp}', precision=precision).time_ns == time_ns


@pytest.mark.parametrize("precision", ["ns", "us", "ms", "s"])
def test_missing_timestamp_is_none(precision: lineprotocol.Precision) -> None:
    assert parse_one("m f=1", precision=precision).time_ns is None
    assert parse_one('m f="a b"', precision=precision).time_ns is None


@pytest.mark.parametrize(
    ("precision", "line", "message"),
    [
        ("ns", "m f=1 9223372036854775807", 'timestamp "9223372036854775807" out of range'),
        ("ns", "m f=1 -9223372036854775807", 'timestamp "-9223372036854775807" out of range'),
        ("ns", "m f=1 99999999999999999999", 'timestamp "99999999999999999999" out of range'),
        ("s", "m f=1 9223372037", 'timestamp "9223372037" out of range'),
        ("ms", "m f=1 -9223372036855", 'timestamp "-9223372036855" out of range'),
        ("ns", "m f=1 12a", 'invalid timestamp "12a"'),
        ("ns", "m f=1 1.5", 'invalid timestamp "1.5"'),
        ("ns", "m f=1 +5", 'invalid timestamp "+5"'),
        ("ns", "m f=1 1e9", 'invalid timestamp "1e9"'),
        ("ns", "m f=1 -", 'invalid timestamp "-"'),
        ("ns", "m f=1 \u0663", 'invalid timestamp "\u0663"'),
        ("ns", "m f=1 1_000", 'invalid timestamp "1_000"'),
        ("ns", "m f=1 1 2", 'unexpected text after timestamp: "2"'),
        ("ns", "m f=1 1   2 3", 'unexpected text after timestamp: "2 3"'),
        ("ns", 'm f="a" 1 2', 'unexpected text after timestamp: "2"'),
    ],
)
def test_timestamp_errors(precision: lineprotocol.Precision, line: str, message: str) -> None:
    assert error_of(line, precision=precision) == message


@pytest.mark.parametrize("precision", ["h", "n", "NS", "", "m"])
def test_unknown_precision_is_a_value_error(precision: str) -> None:
    with pytest.raises(ValueError, match="precision"):
        parse("m f=1", precision=precision)  # type: ignore[arg-type]


def test_max_errors_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_errors"):
        parse("m f=1", max_errors=0)
