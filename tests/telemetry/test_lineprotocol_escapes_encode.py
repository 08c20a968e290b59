"""telemetry.lineprotocol: escapes, encoding and the round trip."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from telemetry.lineprotocol import Point, encode, parse
from tests.telemetry.lineprotocol_cases import (  # noqa: F401 (cold_schema_cache is autouse)
    NS,
    cold_schema_cache,
    error_of,
    field_of,
    parse_one,
)


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
