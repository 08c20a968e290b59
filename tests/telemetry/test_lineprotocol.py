"""telemetry.lineprotocol: the InfluxDB v2 line protocol parser and encoder.

Every valid line is parsed three ways (by the scanner alone, cold, and after the field-set
schema is learned) and the results must agree, so the fast paths can only ever be faster.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from telemetry import lineprotocol
from telemetry.lineprotocol import LineProtocolError, Point, encode, parse

NS = 1556813561098000000


@pytest.fixture(autouse=True)
def _cold_schema_cache() -> Iterator[None]:
    """Learned schemas are process-wide; each test starts from none."""
    lineprotocol._SCHEMA_CACHE.clear()
    yield
    lineprotocol._SCHEMA_CACHE.clear()


def parse_one(line: str, *, precision: lineprotocol.Precision = "ns") -> Point:
    """Parse ``line`` by the scanner, cold, and warm; check they agree; return the point."""
    scale = lineprotocol._NS_PER_UNIT[precision]
    by_scanner = lineprotocol._parse_slow(line.strip(" \t\r"), 1, scale)
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


# Examples from https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/

DOC_EXAMPLES = [
    (
        'myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000',
        Point(
            "myMeasurement", {"tag1": "value1", "tag2": "value2"}, {"fieldKey": "fieldValue"}, NS, 1
        ),
    ),
    (
        'measurementName fieldKey="field string value" 1556813561098000000',
        Point("measurementName", {}, {"fieldKey": "field string value"}, NS, 1),
    ),
    ("myMeasurement fieldKey=1.0", Point("myMeasurement", {}, {"fieldKey": 1.0}, None, 1)),
    ("myMeasurement fieldKey=1", Point("myMeasurement", {}, {"fieldKey": 1.0}, None, 1)),
    (
        "myMeasurement fieldKey=-1.234456e+78",
        Point("myMeasurement", {}, {"fieldKey": -1.234456e78}, None, 1),
    ),
    ("myMeasurement fieldKey=1i", Point("myMeasurement", {}, {"fieldKey": 1}, None, 1)),
    (
        "myMeasurement fieldKey=12485903i",
        Point("myMeasurement", {}, {"fieldKey": 12485903}, None, 1),
    ),
    (
        "myMeasurement fieldKey=-12485903i",
        Point("myMeasurement", {}, {"fieldKey": -12485903}, None, 1),
    ),
    ("myMeasurement fieldKey=1u", Point("myMeasurement", {}, {"fieldKey": 1}, None, 1)),
    (
        "myMeasurement fieldKey=12485903u",
        Point("myMeasurement", {}, {"fieldKey": 12485903}, None, 1),
    ),
    (
        'myMeasurement fieldKey="this is a string"',
        Point("myMeasurement", {}, {"fieldKey": "this is a string"}, None, 1),
    ),
    ("myMeasurement fieldKey=true", Point("myMeasurement", {}, {"fieldKey": True}, None, 1)),
    ("myMeasurement fieldKey=false", Point("myMeasurement", {}, {"fieldKey": False}, None, 1)),
    ("myMeasurement fieldKey=t", Point("myMeasurement", {}, {"fieldKey": True}, None, 1)),
    ("myMeasurement fieldKey=f", Point("myMeasurement", {}, {"fieldKey": False}, None, 1)),
    ("myMeasurement fieldKey=TRUE", Point("myMeasurement", {}, {"fieldKey": True}, None, 1)),
    ("myMeasurement fieldKey=FALSE", Point("myMeasurement", {}, {"fieldKey": False}, None, 1)),
    (
        'my\\ Measurement fieldKey="string value"',
        Point("my Measurement", {}, {"fieldKey": "string value"}, None, 1),
    ),
    (
        'myMeasurement fieldKey="\\"string\\" within a string"',
        Point("myMeasurement", {}, {"fieldKey": '"string" within a string'}, None, 1),
    ),
    (
        "myMeasurement,tag\\ Key1=tag\\ Value1,tag\\ Key2=tag\\ Value2 fieldKey=100",
        Point(
            "myMeasurement",
            {"tag Key1": "tag Value1", "tag Key2": "tag Value2"},
            {"fieldKey": 100.0},
            None,
            1,
        ),
    ),
    (
        'myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" 1556813561098000000',
        Point("myMeasurement", {"tagKey": "🍭"}, {"fieldKey": "Launch 🚀"}, NS, 1),
    ),
    (
        'myTable,tag1=val1,tag2=val2 field1="v1",field2=1i 0000000000000000000',
        Point("myTable", {"tag1": "val1", "tag2": "val2"}, {"field1": "v1", "field2": 1}, 0, 1),
    ),
]


@pytest.mark.parametrize(("line", "expected"), DOC_EXAMPLES)
def test_reference_examples(line: str, expected: Point) -> None:
    assert parse_one(line) == expected


def test_reference_comment_example() -> None:
    body = '# This is a comment\nmyMeasurement fieldKey="string value" 1556813561098000000'
    assert parse(body) == [Point("myMeasurement", {}, {"fieldKey": "string value"}, NS, 2)]


# The reference's backslash table, inside a string field value (a character follows the
# backslashes so that the last one cannot escape the closing quote).
@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("\\", "\\"),
        ("\\\\", "\\"),
        ("\\\\\\", "\\\\"),
        ("\\\\\\\\", "\\\\"),
        ("\\\\\\\\\\", "\\\\\\"),
        ("\\\\\\\\\\\\", "\\\\\\"),
    ],
)
def test_reference_backslash_table(written: str, read: str) -> None:
    assert field_of(f'"x{written}y"') == f"x{read}y"


# Escaping, element by element.


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("a\\ b", "a b"),
        ("a\\,b", "a,b"),
        ("a=b", "a=b"),  # "=" needs no escape in a measurement...
        ("a\\=b", "a\\=b"),  # ...so "\=" is a backslash and an equals sign
        ('a"b', 'a"b'),
        ("a\\b", "a\\b"),
        ("a\\\\b", "a\\\\b"),
        ("a\\\\,b", "a\\,b"),  # a literal backslash, then an escaped comma
        ("a\\\\\\ b", "a\\\\ b"),
        ("\\ a", " a"),
        ("a#", "a#"),
        ("ünïcødé", "ünïcødé"),
    ],
)
def test_measurement_escapes(written: str, read: str) -> None:
    assert parse_one(f"{written},t=v f=1 1").measurement == read
    assert parse_one(f"{written} f=1 1").measurement == read


KEY_ESCAPES = [
    ("a\\ b", "a b"),
    ("a\\,b", "a,b"),
    ("a\\=b", "a=b"),
    ('a"b', 'a"b'),
    ("a\\b", "a\\b"),
    ("a\\\\b", "a\\\\b"),
    ('a\\"b', 'a\\"b'),
    ("a\\\\,b", "a\\,b"),
    ("a\\\\=b", "a\\=b"),
    ("\\ a\\ ", " a "),
    ("#a", "#a"),
    ("ünïcødé", "ünïcødé"),
]


@pytest.mark.parametrize(("written", "read"), KEY_ESCAPES)
def test_tag_key_escapes(written: str, read: str) -> None:
    assert parse_one(f"m,{written}=v f=1 1").tags == {read: "v"}


@pytest.mark.parametrize(("written", "read"), KEY_ESCAPES)
def test_tag_value_escapes(written: str, read: str) -> None:
    assert parse_one(f"m,t={written} f=1 1").tags == {"t": read}
    assert parse_one(f"m,t={written},u=v f=1 1").tags == {"t": read, "u": "v"}


@pytest.mark.parametrize(("written", "read"), KEY_ESCAPES)
def test_field_key_escapes(written: str, read: str) -> None:
    assert parse_one(f"m {written}=1 1").fields == {read: 1.0}
    assert parse_one(f"m x=1,{written}=2i,y=t 1").fields == {"x": 1.0, read: 2, "y": True}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("", ""),
        ("plain", "plain"),
        ("a b, c=d", "a b, c=d"),
        ('\\"', '"'),
        ("\\\\", "\\"),
        ('say \\"hi\\"', 'say "hi"'),
        ("\\n\\t", "\\n\\t"),  # no escapes for control characters: kept literally
        ("a\\,b\\ c\\=d", "a\\,b\\ c\\=d"),
        ("trailing\\\\", "trailing\\"),
        ("#not a comment", "#not a comment"),
        ("Launch 🚀", "Launch 🚀"),
        ("tab\tinside", "tab\tinside"),
    ],
)
def test_string_value_escapes(written: str, read: str) -> None:
    assert field_of(f'"{written}"') == read
    line = f'm,t=v a=1,s="{written}",b=2i 1'
    assert parse_one(line).fields == {"a": 1.0, "s": read, "b": 2}


def test_string_may_hold_what_separates_elsewhere() -> None:
    point = parse_one('m s="x=1,y=2 3",n=1 5')
    assert point.fields == {"s": "x=1,y=2 3", "n": 1.0}
    assert point.time_ns == 5


def test_string_of_64_kib_is_the_limit() -> None:
    assert field_of('"' + "é" * (32 * 1024) + '"') == "é" * (32 * 1024)
    message = error_of('m f="' + "é" * (32 * 1024) + 'x" 1')
    assert message == 'field "f": string longer than 64 KiB'


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


# Structure.


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("m", "missing field set"),
        ("m,t=v", "missing field set"),
        ("m\\ f=1", "missing field set"),  # the escaped space belongs to the measurement
        ("m,t=v\\ f=1", "tag \"t\": unescaped '=' in value"),  # the value is "v f"
        ("m,t=v\\", "missing field set"),
        (",t=v f=1", "missing measurement"),
        (" f=1", "missing field set"),  # leading blanks are stripped: "f=1" is a measurement
        ("m,t f=1", "tag \"t\": missing '='"),
        ("m,t,u=v f=1", "tag \"t\": missing '='"),
        ("m,=v f=1", "empty tag key"),
        ("m, f=1", "empty tag key"),
        ("m,,t=v f=1", "empty tag key"),
        ("m,t= f=1", 'tag "t": empty value'),
        ("m,t=,u=v f=1", 'tag "t": empty value'),
        ("m,t=a=b f=1", "tag \"t\": unescaped '=' in value"),
        ("m,t=a,t=b f=1", 'tag "t": duplicate key'),
        ("m,t\\ x=a,t\\ x=b f=1", 'tag "t x": duplicate key'),
        ("m =1", "empty field key"),
        ("m f=1,=2", "empty field key"),
        ("m f=1,", "empty field key"),
        ("m f=1, 5", "empty field key"),
        ("m f", "field \"f\": missing '='"),
        ("m f 1", "field \"f\": missing '='"),
        ("m f,g=1", "field \"f\": missing '='"),
        ("m g=1,f", "field \"f\": missing '='"),
        ("m f=", 'field "f": missing value'),
        ("m f= 1", 'field "f": missing value'),
        ("m f=,g=1", 'field "f": missing value'),
        ("m f=1,f=2", 'field "f": duplicate key'),
        ("m f=1i,f=2i", 'field "f": duplicate key'),
        ('m f="a",f="b"', 'field "f": duplicate key'),
        ("m f\\ x=1,f\\ x=2", 'field "f x": duplicate key'),
        ('m f="abc', 'field "f": unterminated string'),
        ('m f="abc\\"', 'field "f": unterminated string'),
        ('m f="abc\\" 1', 'field "f": unterminated string'),
        ('m f="a"b', 'field "f": unexpected "b" after value'),
        ('m f="a""b"', 'field "f": unexpected "\\"" after value'),
        ("m f=hello world", 'field "f": invalid value "hello"'),
        ("m f=1\tg=2", 'field "f": invalid number "1\\tg=2"'),
    ],
)
def test_structure_errors(line: str, message: str) -> None:
    assert error_of(line) == message


def test_runs_of_spaces_between_sections_are_accepted() -> None:
    assert parse_one("m,t=v   f=1   5") == Point("m", {"t": "v"}, {"f": 1.0}, 5, 1)
    assert parse_one('m\\ x   s="a  b"   5') == Point("m x", {}, {"s": "a  b"}, 5, 1)


def test_raw_newline_in_a_string_is_rejected() -> None:
    # The reference: line protocol does not support "\n" in field values. Each half is bad.
    with pytest.raises(LineProtocolError) as raised:
        parse('m s="first\nsecond" 1')
    assert raised.value.errors == [
        (1, 'field "s": unterminated string'),
        (2, "field \"1\": missing '='"),
    ]


def test_comments_blank_lines_and_crlf() -> None:
    body = "# header\r\n\r\n   \r\nm f=1 1\r\n  # indented comment\r\n\tm f=2 2 \t\r\n\r\n"
    assert parse(body) == [
        Point("m", {}, {"f": 1.0}, 1, 4),
        Point("m", {}, {"f": 2.0}, 2, 6),
    ]


def test_empty_bodies() -> None:
    assert parse("") == []
    assert parse(b"") == []
    assert parse("\n\n# only comments\n") == []


def test_hash_inside_a_line_is_not_a_comment() -> None:
    assert parse_one("m#1,t=#v f#=1 1") == Point("m#1", {"t": "#v"}, {"f#": 1.0}, 1, 1)


def test_tags_are_not_shared_between_points() -> None:
    first, second = parse("m,t=v f=1 1\nm,t=v f=2 2")
    first.tags["t"] = "changed"
    assert second.tags == {"t": "v"}


# Errors across a body.


def test_multiple_errors_with_line_numbers() -> None:
    body = "\n".join(
        [
            "power,node=n1 battery_soc=0.81 1",
            "# comment",
            "power,node=n1 battery_soc=0.8x 2",
            "power,node=n1 battery_soc=0.79 3",
            "power,node= battery_soc=0.78 4",
            "power,node=n1",
        ]
    )
    with pytest.raises(LineProtocolError) as raised:
        parse(body)
    assert raised.value.errors == [
        (3, 'field "battery_soc": invalid number "0.8x"'),
        (5, 'tag "node": empty value'),
        (6, "missing field set"),
    ]
    assert str(raised.value) == (
        'line 3: field "battery_soc": invalid number "0.8x"; '
        'line 5: tag "node": empty value; '
        "line 6: missing field set"
    )
    assert isinstance(raised.value, ValueError)


def test_errors_stop_at_max_errors() -> None:
    body = "\n".join(f"m f=x{i}" for i in range(50))
    with pytest.raises(LineProtocolError) as raised:
        parse(body, max_errors=3)
    assert [number for number, _ in raised.value.errors] == [1, 2, 3]
    assert raised.value.truncated is True
    assert str(raised.value).endswith("; (more errors not shown)")


def test_exactly_max_errors_is_not_truncated() -> None:
    with pytest.raises(LineProtocolError) as raised:
        parse("m f=x\nm f=1\nm f=y", max_errors=2)
    assert raised.value.errors == [
        (1, 'field "f": invalid value "x"'),
        (3, 'field "f": invalid value "y"'),
    ]
    assert raised.value.truncated is False


def test_all_or_nothing() -> None:
    body = "\n".join([f"m,node=n{i} f={i} {i}" for i in range(100)] + ["m f=oops 100"])
    with pytest.raises(LineProtocolError) as raised:
        parse(body)
    assert raised.value.errors == [(101, 'field "f": invalid value "oops"')]


def test_long_values_are_shortened_in_messages() -> None:
    message = error_of("m f=" + "9" * 100 + "x")
    assert message == 'field "f": invalid number "' + "9" * 40 + '…"'


# Bytes.


def test_bytes_are_utf8() -> None:
    body = 'myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" 1556813561098000000'.encode()
    assert parse(body) == [
        Point("myMeasurement", {"tagKey": "🍭"}, {"fieldKey": "Launch 🚀"}, NS, 1)
    ]
    assert parse(bytearray(body)) == parse(body)


def test_invalid_utf8_is_reported_with_its_line() -> None:
    body = b"m f=1 1\nm,t=\xff f=2 2\nm f=bad 3\n# \xc3\x28 in a comment\nm f=4 4"
    with pytest.raises(LineProtocolError) as raised:
        parse(body)
    assert raised.value.errors == [
        (2, "invalid UTF-8 at byte 5 of the line"),
        (3, 'field "f": invalid value "bad"'),
        (4, "invalid UTF-8 at byte 3 of the line"),
    ]


def test_invalid_utf8_respects_max_errors() -> None:
    body = b"\n".join([b"m f=\xff"] * 5 + [b"m f=x"] * 5)
    with pytest.raises(LineProtocolError) as raised:
        parse(body, max_errors=4)
    assert [number for number, _ in raised.value.errors] == [1, 2, 3, 4]
    assert raised.value.truncated is True


def test_truncated_utf8_sequence() -> None:
    with pytest.raises(LineProtocolError) as raised:
        parse('m s="é"'.encode()[:-2])
    assert raised.value.errors == [(1, "invalid UTF-8 at byte 6 of the line")]


# Fast paths agree with the scanner and are actually taken.


def test_plain_lines_never_reach_the_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(line: str, number: int, scale: int) -> Point:
        raise AssertionError(f"scanner called for line {number}: {line}")

    monkeypatch.setattr(lineprotocol, "_parse_slow", refuse)
    body = "\n".join(
        f"node,node=n{i % 3},site=leo soc={i / 7},temp_c=-{i}.5,count={i}i,ok=true {i}"
        for i in range(10)
    )
    body += '\nnode\\ x,site=leo\\ 1 soc=1,text="a, b",n=2i 10'
    points = parse(body)
    assert len(points) == 11
    assert points[3].fields == {"soc": 3 / 7, "temp_c": -3.5, "count": 3, "ok": True}
    assert points[10].fields == {"soc": 1.0, "text": "a, b", "n": 2}


def test_schema_is_learned_on_the_second_sighting() -> None:
    cache = lineprotocol._SCHEMA_CACHE
    parse("m a=1,b=2i,c=t 1")
    assert "m" not in cache.by_measurement
    parse("m a=3,b=4i,c=f 2")
    schema = cache.by_measurement["m"]
    assert schema.keys == ("a", "b", "c")
    assert parse("m a=5,b=6i,c=T 3") == [Point("m", {}, {"a": 5.0, "b": 6, "c": True}, 3, 1)]
    # A different shape for the same measurement still parses (and is learned in turn).
    assert parse("m a=5,z=1 3") == [Point("m", {}, {"a": 5.0, "z": 1.0}, 3, 1)]


def test_schema_compiles_are_paid_for_by_lines_parsed_without_one() -> None:
    cache = lineprotocol._SCHEMA_CACHE
    burst = lineprotocol._COMPILE_BURST
    parse("\n".join(f"m{i} k{i}=1\nm{i} k{i}=2" for i in range(burst + 5)))
    assert len(cache.schemas) == burst
    # Enough lines without a schema earn the next compile.
    parse("\n".join(f"x a{i}=1" for i in range(lineprotocol._COMPILE_COST)))
    parse("n k=1\nn k=2")
    assert "n" in cache.by_measurement


def test_schema_does_not_change_meaning_of_a_look_alike_line() -> None:
    parse("m a=1,b=2 1\nm a=1,b=2 1")
    assert parse("m a=1,b=2,c=3 1")[0].fields == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert parse("m a=1 1")[0].fields == {"a": 1.0}
    assert parse("m a=1,b=2u 1")[0].fields == {"a": 1.0, "b": 2}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # Two "=" in one pair and none in another: the counts match, the pairs do not.
        ("m a=1,b=2=3,c 1", 'field "b": invalid number "2=3"'),
        ("m a=1=2,3 1", 'field "a": invalid number "1=2"'),
        ("m a=1,,b=2 1", "empty field key"),
        ("m a==1 1", 'field "a": invalid value "=1"'),
    ],
)
def test_misaligned_pairs_are_never_accepted(line: str, message: str) -> None:
    assert error_of(line) == message
    parse("m a=1,b=2 1\nm a=1,b=2 1")  # with a schema for "m" learned
    assert error_of(line) == message


def test_sum_overflow_of_finite_floats_is_accepted() -> None:
    point = parse_one("m a=1.7e308,b=1.7e308 1")
    assert point.fields == {"a": 1.7e308, "b": 1.7e308}


# Encoding and the round trip.

TRICKY_NAMES = [
    "plain",
    "with space",
    "comma,inside",
    "equals=inside",
    "back\\slash",
    "back\\,slash comma",
    "\\\\double",
    'quote"inside',
    " leading space",
    ",leading comma",
    "=leading equals",
    "trailing space ",
    "trailing comma,",
    "ünïcødé 🚀",
    "hash#inside",
    "_underscore",
]
TRICKY_STRINGS = [
    "",
    "plain",
    'quote " inside',
    "back\\slash",
    "trailing backslash\\",
    "\\",
    '\\"',
    "a,b c=d",
    "tab\tand\rcarriage return",
    "🚀",
]
TRICKY_VALUES: list[float | int | bool | str] = [
    0.0,
    -1.5e-300,
    1.7976931348623157e308,
    0.1,
    -0.5,
    1e16,
    0,
    -(2**63),
    2**63 - 1,
    2**63,
    2**64 - 1,
    True,
    False,
    *TRICKY_STRINGS,
]


def round_trip_points() -> Iterator[Point]:
    for measurement, name in itertools.product(TRICKY_NAMES, TRICKY_NAMES):
        if measurement.startswith(" "):
            measurement = "m" + measurement
        yield Point(measurement, {name: name, "t": "v"}, {name: 1.0, "x": 2}, 10, 1)
    for index, value in enumerate(TRICKY_VALUES):
        yield Point("m", {}, {"v": value, "n": index}, None if index % 2 else -index, 1)


def test_round_trip() -> None:
    points = list(round_trip_points())
    for point in points:
        assert parse(encode(point)) == [point], encode(point)
    body = "\n".join(map(encode, points))
    numbered = [
        Point(p.measurement, p.tags, p.fields, p.time_ns, n) for n, p in enumerate(points, 1)
    ]
    assert parse(body) == numbered


def test_encode_format() -> None:
    point = Point(
        "my Measurement",
        {"tag Key": "tag,Value", "k": "a=b"},
        {"f": 1.5, "i": -2, "u": 2**64 - 1, "b": True, "s": 'say "hi" \\'},
        NS,
        1,
    )
    assert encode(point) == (
        "my\\ Measurement,tag\\ Key=tag\\,Value,k=a\\=b "
        'f=1.5,i=-2i,u=18446744073709551615u,b=true,s="say \\"hi\\" \\\\" 1556813561098000000'
    )
    assert encode(Point("m", {}, {"f": 1.0}, None, 1)) == "m f=1.0"


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (Point("", {}, {"f": 1.0}, None, 1), "empty measurement"),
        (Point("#m", {}, {"f": 1.0}, None, 1), "cannot start with"),
        (Point("\tm", {}, {"f": 1.0}, None, 1), "cannot start with"),
        (Point("m", {}, {}, None, 1), "at least one field"),
        (Point("m\\", {}, {"f": 1.0}, None, 1), "ends with a backslash"),
        (Point("m", {"t\\": "v"}, {"f": 1.0}, None, 1), "ends with a backslash"),
        (Point("m", {"t": "v\\"}, {"f": 1.0}, None, 1), "ends with a backslash"),
        (Point("m", {"": "v"}, {"f": 1.0}, None, 1), "empty tag key"),
        (Point("m", {"t": ""}, {"f": 1.0}, None, 1), "empty tag 't' value"),
        (Point("m", {}, {"": 1.0}, None, 1), "empty field key"),
        (Point("m", {}, {"f\\": 1.0}, None, 1), "ends with a backslash"),
        (Point("m\nx", {}, {"f": 1.0}, None, 1), "newline"),
        (Point("m", {}, {"f": "a\nb"}, None, 1), "newline"),
        (Point("m", {}, {"f": float("inf")}, None, 1), "not finite"),
        (Point("m", {}, {"f": float("nan")}, None, 1), "not finite"),
        (Point("m", {}, {"f": 2**64}, None, 1), "out of int64/uint64 range"),
        (Point("m", {}, {"f": -(2**63) - 1}, None, 1), "out of int64/uint64 range"),
        (Point("m", {}, {"f": 1.0}, 2**63 - 1, 1), "out of range"),
    ],
)
def test_encode_refuses_what_line_protocol_cannot_carry(point: Point, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode(point)
