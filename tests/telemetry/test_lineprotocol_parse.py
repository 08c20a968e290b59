"""telemetry.lineprotocol: parsing, structure, errors, bytes and the fast paths."""

from __future__ import annotations

import pytest

from telemetry import lineprotocol
from telemetry.lineprotocol import LineProtocolError, Point, parse
from tests.telemetry.lineprotocol_cases import (  # noqa: F401 (cold_schema_cache is autouse)
    NS,
    cold_schema_cache,
    error_of,
    parse_one,
)

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

    monkeypatch.setattr(lineprotocol, "parse_slow", refuse)
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
    cache = lineprotocol.SCHEMA_CACHE
    parse("m a=1,b=2i,c=t 1")
    assert "m" not in cache.by_measurement
    parse("m a=3,b=4i,c=f 2")
    schema = cache.by_measurement["m"]
    assert schema.keys == ("a", "b", "c")
    assert parse("m a=5,b=6i,c=T 3") == [Point("m", {}, {"a": 5.0, "b": 6, "c": True}, 3, 1)]
    # A different shape for the same measurement still parses (and is learned in turn).
    assert parse("m a=5,z=1 3") == [Point("m", {}, {"a": 5.0, "z": 1.0}, 3, 1)]


def test_schema_compiles_are_paid_for_by_lines_parsed_without_one() -> None:
    cache = lineprotocol.SCHEMA_CACHE
    burst = lineprotocol.COMPILE_BURST
    parse("\n".join(f"m{i} k{i}=1\nm{i} k{i}=2" for i in range(burst + 5)))
    assert len(cache.schemas) == burst
    # Enough lines without a schema earn the next compile.
    parse("\n".join(f"x a{i}=1" for i in range(lineprotocol.COMPILE_COST)))
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
