"""What apps contribute to the wiring, registered in their ``AppConfig.ready``.

The wiring (health, Celery beat, ASGI) and the console read these registries, so they
never import an app: a new app registers its health checks, periodic tasks, live topics,
console sections and WebSocket routes here and nothing else changes.

- ``health_check(name, fn, required=True, when=None)``: ``/healthz`` runs ``fn`` (a dict
  with ``ok``) under the probe's deadline while ``when()`` holds; a check that is not
  required is reported but never fails the probe.
- ``periodic(name, task=..., every_s=...)``: a Celery beat entry.
- ``live_topic(name, ...)``: a channel group (or family of groups, ``keyed_by``) that a
  producer publishes to through ``ops.edge.live``; the console socket may join only these.
- ``console_section(key, ...)``: a block an app adds to the console's home page.
- ``websocket_routes(patterns)``: WebSocket URL patterns served by the ASGI application.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HealthCheck = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class HealthEntry:
    name: str
    check: HealthCheck
    required: bool = True
    when: Callable[[], bool] | None = None  # run only while this says so (configured)


@dataclass(frozen=True, slots=True)
class LiveTopic:
    """A live topic. Plain topics are one group (``name``); keyed ones are a family of
    groups ``<name>.<key>`` (one per node, say) that a console subscribes to by key.

    ``auto``: joined by every console socket on connect. ``scopes``: who may join (any of).
    ``key_pattern``: what a key must match (keys come from browsers)."""

    name: str
    keyed_by: str | None = None
    auto: bool = False
    scopes: frozenset[str] = frozenset({"schedule", "operate", "admin"})
    key_pattern: re.Pattern[str] = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
    description: str = ""

    def group(self, key: str | None = None) -> str:
        """The channel group: ``name``, or ``name.key`` for a keyed topic."""
        return self.name if self.keyed_by is None else f"{self.name}.{key}"

    def accepts(self, key: object) -> bool:
        """Whether a key sent by a browser names a group of this topic."""
        return isinstance(key, str) and bool(self.key_pattern.match(key))


@dataclass(frozen=True, slots=True)
class ConsoleSection:
    """A block of the console's home page: ``template`` rendered with ``context()``."""

    key: str
    title: str
    template: str
    context: Callable[[], Mapping[str, Any]]
    order: int = 100
    scopes: frozenset[str] = frozenset({"schedule", "operate", "admin"})


@dataclass
class _Registry:
    health: dict[str, HealthEntry] = field(default_factory=dict)
    periodic: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: dict[str, LiveTopic] = field(default_factory=dict)
    sections: dict[str, ConsoleSection] = field(default_factory=dict)
    websocket: list[Any] = field(default_factory=list)


_registry = _Registry()


# The wiring's own checks (zenith.health): an app cannot replace or soften them.
BUILTIN_CHECKS = frozenset({"database", "channel_layer", "broker"})


def health_check(
    name: str,
    check: HealthCheck,
    *,
    required: bool = True,
    when: Callable[[], bool] | None = None,
) -> None:
    if name in BUILTIN_CHECKS:
        raise ValueError(f"health check {name!r} is the wiring's own; choose another name")
    _registry.health[name] = HealthEntry(name, check, required, when)


def health_checks() -> list[HealthEntry]:
    """The checks that apply now (``when`` is read on every probe: settings may change).
    A ``when`` that raises keeps its check in, so the probe reports the failure."""
    entries = []
    for entry in _registry.health.values():
        try:
            applies = entry.when is None or entry.when()
        except Exception:
            applies = True
        if applies:
            entries.append(entry)
    return entries


def periodic(name: str, *, task: str, every_s: float) -> None:
    """A beat entry. Added to the Celery app's schedule at once, so beat (which reads it
    after Django has started) and anything inspecting the schedule see it."""
    from zenith.celery import app

    entry = {"task": task, "schedule": float(every_s)}
    _registry.periodic[name] = entry
    app.conf.beat_schedule[name] = dict(entry)


def periodic_entries() -> dict[str, dict[str, Any]]:
    return {name: dict(entry) for name, entry in _registry.periodic.items()}


def live_topic(topic: LiveTopic) -> LiveTopic:
    existing = _registry.live.get(topic.name)
    if existing is not None and existing != topic:
        raise ValueError(f"live topic {topic.name!r} is registered twice, differently")
    _registry.live[topic.name] = topic
    return topic


def live_topics() -> list[LiveTopic]:
    return list(_registry.live.values())


def console_section(section: ConsoleSection) -> None:
    _registry.sections[section.key] = section


def console_sections() -> list[ConsoleSection]:
    return sorted(_registry.sections.values(), key=lambda s: (s.order, s.key))


def websocket_routes(patterns: Iterable[Any]) -> None:
    _registry.websocket.extend(patterns)


def websocket_patterns() -> list[Any]:
    return list(_registry.websocket)
