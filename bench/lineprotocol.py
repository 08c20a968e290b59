"""Throughput of telemetry.lineprotocol.parse against a naive regex parser.

    .venv/bin/python bench/lineprotocol.py [--timestamps N] [--repeat R]

Bodies are bytes, as the write endpoint receives them, so UTF-8 decoding is included. Each
body holds 200 nodes x N timestamps lines of 30 fields:

* floats:  plain float fields, no escapes (the Telegraf / client-library telemetry case)
* mixed:   the same with a third of the fields as integers and booleans
* escaped: escaped measurement and tag, plus a quoted string field with a comma and a quote

The parser learns a measurement's field-set shape after two lines; "no schema" rows stop it
learning, to show the bulk tier alone (traffic whose shapes change line to line).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telemetry import lineprotocol
from telemetry.lineprotocol import Point, parse

NODES = 200
FIELDS = 30
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
STEP_NS = 10_000_000_000

FIELD_NAMES = [
    "battery_soc",
    "battery_v",
    "battery_a",
    "battery_temp_c",
    "solar_w",
    "bus_v",
    "bus_a",
    "cpu_util",
    "cpu_temp_c",
    "gpu_util",
    "gpu_temp_c",
    "gpu_mem_used_bytes",
    "ram_used_bytes",
    "disk_used_bytes",
    "radiator_temp_c",
    "panel_temp_c",
    "wheel_x_rpm",
    "wheel_y_rpm",
    "wheel_z_rpm",
    "att_err_deg",
    "rate_x_dps",
    "rate_y_dps",
    "rate_z_dps",
    "mag_x_nt",
    "mag_y_nt",
    "mag_z_nt",
    "link_snr_db",
    "link_rate_bps",
    "queue_depth",
    "uptime_s",
]
assert len(FIELD_NAMES) == FIELDS


def _float_value(rng: random.Random, index: int) -> str:
    scale = (1.0, 30.0, 5.0, 40.0, 2000.0, 28.0, 10.0, 1.0, 90.0, 1.0)[index % 10]
    return repr(round(rng.uniform(-0.1, 1.0) * scale, rng.choice((2, 3, 4, 6))))


def build_body(kind: str, timestamps: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = []
    for step in range(timestamps):
        stamp = START_NS + step * STEP_NS
        for node in range(NODES):
            values = []
            for index, name in enumerate(FIELD_NAMES):
                if kind == "mixed" and index % 3 == 1:
                    value = f"{rng.randrange(-(10**9), 10**12)}i"
                elif kind == "mixed" and index % 3 == 2:
                    value = rng.choice(("t", "f", "true", "false"))
                elif kind == "escaped" and index == 0:
                    value = '"nominal, \\"green\\" ok"'
                else:
                    value = _float_value(rng, index)
                values.append(f"{name}={value}")
            if kind == "escaped":
                series = f"node\\ telemetry,node=node-{node:03d},site=leo\\ shell\\,\\ 550km"
            else:
                series = f"node_telemetry,node=node-{node:03d},site=leo"
            lines.append(f"{series} {','.join(values)} {stamp}")
    return ("\n".join(lines) + "\n").encode()


# Baseline: what one would write first, a regex per line and a regex per field.

_LINE_RE = re.compile(r'^((?:[^ \\]|\\.)+) ((?:[^ "\\]|\\.|"(?:[^"\\]|\\.)*")+)(?: (-?[0-9]+))?$')
_PAIR_RE = re.compile(r'((?:[^,=\\]|\\.)+)=("(?:[^"\\]|\\.)*"|[^,]*)')
_SPLIT_COMMA_RE = re.compile(r"(?<!\\),")
_UNESCAPE_RE = re.compile(r"\\([,= \"\\])")
_INT_RE = re.compile(r"^-?[0-9]+i$")
_UINT_RE = re.compile(r"^[0-9]+u$")
_FLOAT_RE = re.compile(r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_BOOL = {"t": True, "true": True, "True": True, "TRUE": True, "T": True}
_BOOL |= {"f": False, "false": False, "False": False, "FALSE": False, "F": False}


def naive_parse(body: bytes) -> list[Point]:
    points = []
    for number, line in enumerate(body.decode().split("\n"), 1):
        line = line.rstrip("\r ")
        if not line or line.startswith("#"):
            continue
        match = _LINE_RE.match(line)
        if match is None:
            raise ValueError(f"line {number}: bad line")
        key, field_set, stamp = match.groups()
        measurement, *tag_pairs = _SPLIT_COMMA_RE.split(key)
        tags = {}
        for pair in tag_pairs:
            tag_key, _, tag_value = re.split(r"(?<!\\)(=)", pair, maxsplit=1)
            tags[_UNESCAPE_RE.sub(r"\1", tag_key)] = _UNESCAPE_RE.sub(r"\1", tag_value)
        fields: dict[str, float | int | bool | str] = {}
        for field_key, raw in _PAIR_RE.findall(field_set):
            value: float | int | bool | str
            if raw.startswith('"'):
                value = _UNESCAPE_RE.sub(r"\1", raw[1:-1])
            elif _INT_RE.match(raw) or _UINT_RE.match(raw):
                value = int(raw[:-1])
            elif raw in _BOOL:
                value = _BOOL[raw]
            elif _FLOAT_RE.match(raw):
                value = float(raw)
            else:
                raise ValueError(f"line {number}: bad value {raw!r}")
            fields[_UNESCAPE_RE.sub(r"\1", field_key)] = value
        points.append(
            Point(
                _UNESCAPE_RE.sub(r"\1", measurement),
                tags,
                fields,
                int(stamp) if stamp else None,
                number,
            )
        )
    return points


def best_seconds(function: Callable[[bytes], list[Point]], body: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(body)
        best = min(best, time.perf_counter() - started)
    return best


def parse_without_schema(body: bytes) -> list[Point]:
    cache = lineprotocol.SCHEMA_CACHE
    cache.clear()
    learn = cache.learn
    cache.learn = lambda *args: None  # type: ignore[method-assign]
    try:
        return parse(body)
    finally:
        cache.learn = learn  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timestamps", type=int, default=50, help="timestamps per node")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case; best is kept")
    args = parser.parse_args()

    lines = NODES * args.timestamps
    print(f"{NODES} nodes x {args.timestamps} timestamps = {lines} lines x {FIELDS} fields")
    print(f"Python {sys.version.split()[0]}, best of {args.repeat}")
    header = f"{'case':18} {'MB':>5} {'lines/s':>9} {'fields/s':>10} {'ns/field':>8}"
    print(f"{header} {'naive fields/s':>14} {'speed-up':>8}")
    fields = lines * FIELDS
    for kind in ("floats", "mixed", "escaped"):
        body = build_body(kind, args.timestamps)
        if parse(body) != naive_parse(body):
            raise SystemExit(f"{kind}: the two parsers disagree")
        naive_seconds = best_seconds(naive_parse, body, args.repeat)
        for label, function in ((kind, parse), (f"{kind}, no schema", parse_without_schema)):
            seconds = best_seconds(function, body, args.repeat)
            print(
                f"{label:18} {len(body) / 1e6:5.1f} {lines / seconds:9,.0f}"
                f" {fields / seconds:10,.0f} {seconds / fields * 1e9:8.0f}"
                f" {fields / naive_seconds:14,.0f} {naive_seconds / seconds:7.1f}x"
            )


if __name__ == "__main__":
    main()
