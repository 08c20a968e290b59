"""Turn request bodies into validated batches. Pure parsing and checks; no writes here.

Two wire formats, one result: JSON ``{"samples": [{"node", "ts", "metrics"}]}`` and
InfluxDB line protocol. Either the whole body is valid or nothing is written: every
problem found (up to a limit) is reported, each with the field or line it is about.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from telemetry import lineprotocol
from telemetry.exceptions import BodyTooLarge, InvalidTelemetry, TooManyPoints, UnsupportedEncoding

MAX_ERRORS = 20
_INF = math.inf
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Line protocol measurements whose fields are Zenith metric names as they are; other
# measurements (Telegraf's "cpu", "mem", ...) become "<measurement>_<field>".
PLAIN_MEASUREMENTS = frozenset({"node_health", "zenith", "telemetry"})


@dataclass(slots=True)
class Samples:
    """Parsed, not yet resolved against the registry: per sample, its node, time and metrics."""

    nodes: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # "samples[3]" or "line 7", for errors

    @property
    def points(self) -> int:
        return sum(len(m) for m in self.metrics)


@dataclass(frozen=True, slots=True)
class Window:
    oldest: datetime
    newest: datetime


def decode_body(raw: bytes, *, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``, refusing bombs: the decoded size is capped at ``limit``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding!r} is not supported (use gzip)",
            fields={"Content-Encoding": "must be gzip, deflate or identity"},
        )
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InvalidTelemetry(
            f"body is not valid {encoding}: {exc}", fields={"Content-Encoding": str(exc)}
        ) from None
    if len(out) > limit or decoder.unconsumed_tail:
        raise BodyTooLarge(f"decoded body exceeds {limit} bytes", fields={"body": "too large"})
    return out


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    if ts.tzinfo is None:
        return None
    return ts.astimezone(UTC)


def parse_json(body: bytes, *, max_points: int) -> Samples:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidTelemetry(f"body is not JSON: {exc}", fields={"body": str(exc)}) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("samples"), list):
        raise InvalidTelemetry(
            'expected {"samples": [...]}', fields={"samples": "must be a list of samples"}
        )
    items: list[Any] = doc["samples"]
    errors: dict[str, str] = {}
    out = Samples()
    total = 0
    for index, item in enumerate(items):
        where = f"samples[{index}]"
        if len(errors) >= MAX_ERRORS:
            break
        if not isinstance(item, dict):
            errors[where] = "must be an object with node, ts and metrics"
            continue
        node = item.get("node")
        if not isinstance(node, str) or not node:
            errors[f"{where}.node"] = "must be a spacecraft slug"
            continue
        ts = _parse_ts(item.get("ts"))
        if ts is None:
            errors[f"{where}.ts"] = (
                "must be an ISO-8601 time with a timezone, e.g. 2026-11-24T12:00:00Z"
            )
            continue
        metrics = item.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            errors[f"{where}.metrics"] = "must be a non-empty object of metric: number"
            continue
        clean: dict[str, float] = {}
        for name, value in metrics.items():
            # Fast path for the common case; NaN fails both comparisons, inf the bound.
            if type(value) is float and -_INF < value < _INF:
                clean[name] = value
                continue
            number = _number(value)
            if number is None:
                errors[f"{where}.metrics.{name}"] = f"must be a finite number, got {value!r:.40}"
                break
            clean[name] = number
        else:
            total += len(clean)
            if total > max_points:
                raise TooManyPoints(
                    f"more than {max_points} points in one request; split the batch",
                    fields={"samples": f"at most {max_points} points per request"},
                )
            out.nodes.append(node)
            out.times.append(ts)
            out.metrics.append(clean)
            out.where.append(where)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidTelemetry(f"{first[0]}: {first[1]}", fields=errors)
    if not out.nodes:
        raise InvalidTelemetry("no samples", fields={"samples": "must not be empty"})
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def parse_line_protocol(body: bytes, *, precision: str, now: datetime, max_points: int) -> Samples:
    try:
        points = lineprotocol.parse(body, precision=precision)  # type: ignore[arg-type]
    except lineprotocol.LineProtocolError as exc:
        fields = {f"line {line}": message for line, message in exc.errors[:MAX_ERRORS]}
        first_error = exc.errors[0]
        raise InvalidTelemetry(f"line {first_error[0]}: {first_error[1]}", fields=fields) from None
    except ValueError as exc:
        raise InvalidTelemetry(str(exc), fields={"precision": str(exc)}) from None
    errors: dict[str, str] = {}
    out = Samples()
    total = 0
    now_us = _micros(now)
    for point in points:
        where = f"line {point.line}"
        if len(errors) >= MAX_ERRORS:
            break
        node = point.tags.get("node")
        if not node:
            errors[where] = 'needs a "node" tag naming the spacecraft'
            continue
        plain = point.measurement in PLAIN_MEASUREMENTS
        clean: dict[str, float] = {}
        for key, value in point.fields.items():
            name = key if plain else f"{point.measurement}_{key}"
            number = _number(value)
            if number is None:
                errors[f"{where}.{key}"] = "must be a number or boolean, not a string"
                break
            clean[name] = number
        else:
            time_us = now_us if point.time_ns is None else point.time_ns // 1000
            total += len(clean)
            if total > max_points:
                raise TooManyPoints(
                    f"more than {max_points} points in one request; split the batch",
                    fields={"body": f"at most {max_points} points per request"},
                )
            out.nodes.append(node)
            out.times.append(_EPOCH + timedelta(microseconds=time_us))
            out.metrics.append(clean)
            out.where.append(where)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidTelemetry(f"{first[0]}: {first[1]}", fields=errors)
    if not out.nodes:
        raise InvalidTelemetry("no points in body", fields={"body": "must not be empty"})
    return out


def _micros(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def check_window(samples: Samples, window: Window) -> None:
    errors: dict[str, str] = {}
    for where, ts in zip(samples.where, samples.times, strict=True):
        if ts < window.oldest:
            errors[f"{where}.ts"] = (
                f"is older than the accepted window ({window.oldest:%Y-%m-%dT%H:%M:%SZ})"
            )
        elif ts > window.newest:
            errors[f"{where}.ts"] = f"is in the future beyond {window.newest:%Y-%m-%dT%H:%M:%SZ}"
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        first = next(iter(errors.items()))
        raise InvalidTelemetry(f"{first[0]} {first[1]}", fields=errors)
