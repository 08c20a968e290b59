"""Learned field-set schemas for the fast path."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import call, itemgetter
from typing import Any

from telemetry.lineprotocol.common import (
    BOOLS,
    INT64_MAX,
    INT64_MIN,
    FieldValue,
    finite_sum,
)

# Learned field-set schemas. Telemetry repeats the same field keys and types line after line.
# Once a (keys, types) shape has been seen twice, one compiled pattern per shape checks a whole
# field set and captures its values, so keys are neither split out nor hashed again per line.
# The cache is process-wide (a request often holds one line per node) and bounded.

_SCHEMA_MAX_FIELDS = 256
_SCHEMA_CACHE_SIZE = 1024
COMPILE_COST = 256  # lines parsed without a schema, per compile
COMPILE_BURST = 16  # compiles allowed up front
_VALUE_GROUPS = {
    "f": r"(-?[0-9.][0-9.eE+\-]*+)",
    "i": r"(-?[0-9]++)i",
    "b": r"(true|True|TRUE|t|T|false|False|FALSE|f|F)",
}
_CONVERTERS: dict[str, Callable[[str], FieldValue]] = {
    "f": float,
    "i": int,
    "b": BOOLS.__getitem__,
}
_Picker = Callable[[list[FieldValue]], tuple[Any, ...]]


def _picker(positions: list[int]) -> _Picker | None:
    if not positions:
        return None
    # itemgetter returns a bare item, not a tuple, for a single position.
    return itemgetter(*positions) if len(positions) > 1 else itemgetter(positions[0], positions[0])


class _Schema:
    __slots__ = ("converters", "floats_at", "ints_at", "keys", "pattern", "template")

    def __init__(self, keys: tuple[str, ...], types: str) -> None:
        self.keys = keys
        # Copying a dict of the right keys and updating it beats building one: no resizing,
        # no hashing of new key strings.
        self.template: dict[str, FieldValue] = {key: 0.0 for key in keys}
        self.pattern = re.compile(
            ",".join(
                re.escape(key) + "=" + _VALUE_GROUPS[kind]
                for key, kind in zip(keys, types, strict=True)
            )
        )
        self.converters: tuple[Callable[[str], FieldValue], ...] | None = None
        self.floats_at: _Picker | None = None
        self.ints_at: _Picker | None = None
        if types.strip("f"):
            self.converters = tuple(_CONVERTERS[kind] for kind in types)
            self.floats_at = _picker([i for i, kind in enumerate(types) if kind == "f"])
            self.ints_at = _picker([i for i, kind in enumerate(types) if kind == "i"])

    def fields(self, values: tuple[str, ...]) -> dict[str, FieldValue] | None:
        """The field set for captured ``values``, or None if a value is not acceptable."""
        converters = self.converters
        if converters is None:
            try:
                floats = list(map(float, values))
            except ValueError:
                return None
            if not finite_sum(floats):
                return None
            return self._fill(floats)
        try:
            converted = list(map(call, converters, values))
        except ValueError:
            return None
        if self.floats_at is not None and not finite_sum(self.floats_at(converted)):
            return None
        if self.ints_at is not None:
            ints = self.ints_at(converted)
            if min(ints) < INT64_MIN or max(ints) > INT64_MAX:
                return None
        return self._fill(converted)

    def _fill(self, values: Sequence[FieldValue]) -> dict[str, FieldValue]:
        fields = self.template.copy()
        fields.update(zip(self.keys, values, strict=True))
        return fields


_Shape = tuple[tuple[str, ...], str]


class _SchemaCache:
    """Learned schemas, bounded in number and in compile work.

    Compiling costs as much as parsing tens of lines, so compiles are paid for with credit
    earned by lines parsed without a schema: a body of ever-new shapes cannot make the parser
    spend most of its time compiling.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.by_measurement: dict[str, _Schema] = {}
        self.schemas: dict[_Shape, _Schema] = {}
        self.sightings: dict[_Shape, int] = {}
        self.credit = COMPILE_BURST * COMPILE_COST

    def learn(self, measurement: str, keys: tuple[str, ...], types: str) -> None:
        """Note a field set parsed without a schema; compile its shape on a second sighting."""
        if self.credit < COMPILE_BURST * COMPILE_COST:
            self.credit += 1
        if len(keys) > _SCHEMA_MAX_FIELDS or "u" in types:
            return
        shape = (keys, types)
        schema = self.schemas.get(shape)
        if schema is None:
            if self.sightings.pop(shape, None) is None or self.credit < COMPILE_COST:
                if len(self.sightings) >= _SCHEMA_CACHE_SIZE:
                    self.sightings.clear()
                self.sightings[shape] = 1
                return
            self.credit -= COMPILE_COST
            if len(self.schemas) >= _SCHEMA_CACHE_SIZE:
                self.schemas.clear()
            schema = self.schemas[shape] = _Schema(*shape)
        if len(self.by_measurement) >= _SCHEMA_CACHE_SIZE:
            self.by_measurement.clear()
        self.by_measurement[measurement] = schema


SCHEMA_CACHE = _SchemaCache()
