"""MQTT payloads: a message's body as ingest samples, and the topic level naming the node.

Payloads are the JSON body of ``/api/v1/telemetry`` (when they start with ``{``) or InfluxDB
line protocol (nanosecond timestamps, a missing timestamp is "now"). The ``<node>`` in the topic
names the spacecraft: a JSON sample without ``node`` or a line without a ``node`` tag belongs to
it, and a sample naming another node makes the whole message invalid.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from telemetry import ingest, lineprotocol
from telemetry.exceptions import BodyTooLarge, InvalidTelemetry
from telemetry.ingest import Samples

# --- payloads --------------------------------------------------------------------------


def parse_payload(
    payload: bytes, *, node: str, now: datetime, max_points: int, max_bytes: int
) -> Samples:
    """One MQTT message into samples of ``node`` (the topic's), or a ``TelemetryError``."""
    if not node:
        raise InvalidTelemetry(
            "the topic names no spacecraft", fields={"topic": "must be zenith/<node>/telemetry"}
        )
    if len(payload) > max_bytes:
        raise BodyTooLarge(
            f"payload of {len(payload)} bytes exceeds the {max_bytes}-byte limit",
            fields={"body": f"at most {max_bytes} bytes"},
        )
    if payload.lstrip()[:1] == b"{":
        samples = _parse_json(payload, node=node, max_points=max_points)
    else:
        samples = _parse_lines(payload, node=node, now=now, max_points=max_points)
    foreign: dict[str, str] = {}
    for where, name in zip(samples.where, samples.nodes, strict=True):
        if name != node and len(foreign) < ingest.MAX_ERRORS:
            foreign[f"{where}.node"] = f"is {name!r} but the topic is for {node!r}"
    if foreign:
        first = next(iter(foreign.items()))
        raise InvalidTelemetry(f"{first[0]} {first[1]}", fields=foreign)
    return samples


def _parse_json(payload: bytes, *, node: str, max_points: int) -> Samples:
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        doc = None  # parse_json words the error as the HTTP endpoint does
    if isinstance(doc, dict) and isinstance(doc.get("samples"), list):
        items = [item for item in doc["samples"] if isinstance(item, dict)]
        if any("node" not in item for item in items):
            for item in items:
                item.setdefault("node", node)
            payload = orjson.dumps(doc)
    return ingest.parse_json(payload, max_points=max_points)


def _parse_lines(payload: bytes, *, node: str, now: datetime, max_points: int) -> Samples:
    try:
        return ingest.parse_line_protocol(payload, precision="ns", now=now, max_points=max_points)
    except InvalidTelemetry:
        # The common case (every line tagged) parses once; only a refusal looks for lines that
        # lack the node tag. Errors after filling them in are the real ones, same line numbers.
        filled = _with_node_tags(payload, node)
        if filled is None:
            raise
    return ingest.parse_line_protocol(filled, precision="ns", now=now, max_points=max_points)


def _with_node_tags(payload: bytes, node: str) -> bytes | None:
    """The body again with ``node=<node>`` on every line lacking it; None if none lacks it.

    Each point is re-encoded on its own line number (other lines left blank), so errors found
    afterwards still name the lines the sender wrote.
    """
    try:
        points = lineprotocol.parse(payload, precision="ns")
    except ValueError:
        return None
    if all(point.tags.get("node") for point in points):
        return None
    lines = [""] * max((point.line for point in points), default=0)
    try:
        for point in points:
            if not point.tags.get("node"):
                point.tags["node"] = node
            lines[point.line - 1] = lineprotocol.encode(point)
    except ValueError:
        return None
    return "\n".join(lines).encode()


def node_level(topic_filter: str) -> int:
    """Index of the topic level that names the node: the filter's single ``+``."""
    levels = topic_filter.split("/")
    if levels[0] == "$share" and len(levels) > 2:
        levels = levels[2:]  # "$share/<group>/<filter>": received topics carry only <filter>
    if "#" in levels or levels.count("+") != 1:
        raise ValueError(
            f"topic filter {topic_filter!r} needs exactly one '+' (the node) and no '#'"
        )
    return levels.index("+")
