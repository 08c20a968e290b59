"""Snapshots a page asks the socket for on every (re)connect, so nothing it shows is
silently stale: after a reconnect, what changed while the socket was down is in the
snapshot, and what changes after it arrives as live events (the socket joins its groups
before it reads the snapshot, and relays events only after sending it).

A view is a name (``fleet``, ``node`` with a key, ``transfers``, ...), the scopes that
may read it and a function building its JSON from the console's selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ops.console.access import READ, can_act
from ops.console.selectors import fleet
from ops.console.selectors import node as node_reads
from ops.console.selectors import passes as pass_reads
from ops.console.selectors import transfers as transfer_reads
from ops.console.selectors.fleet import contacts_now, iso
from ops.console.selectors.orbits import light_changes
from scheduling.live import transfer_payload

Build = Callable[[str | None, frozenset[str]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SnapshotView:
    name: str
    build: Build
    keyed: bool = False
    scopes: frozenset[str] = READ


def _fleet(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    return fleet.board_json(fleet.fleet_board(now=timezone.now()))


def _node(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    assert key is not None
    view = node_reads.node_view(slug=key, now=timezone.now())
    return {
        "node": view.craft.slug,
        "latest": {m.name: [iso(v.time), v.value] for m, v in view.latest},
        "contact": view.contact.station.slug if view.contact else None,
        "light": view.light.state if view.light else None,
        "light_changes": [[iso(at), state] for at, state in light_changes(view.light)],
        "transfers": [transfer_payload(t) for t in view.transfers],
    }


def _transfers(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    queue = transfer_reads.transfer_queue(now=timezone.now())
    html = "".join(
        render_to_string("console/_transfer_row.html", {"t": t, "can_act": can_act(scopes)})
        for t in queue.open
    )
    return {
        "count": len(queue.open),
        "html": html,
        "transfers": [transfer_payload(t) for t in queue.open],
    }


def _contacts(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    now = timezone.now()
    active = contacts_now(now=now)
    window = pass_reads.timeline(now=now, hours=max(pass_reads.HOURS_CHOICES)).contacts
    return {
        "now": iso(now),
        "active": [
            {"id": c.pk, "spacecraft_id": c.spacecraft_id, "station_id": c.station_id}
            for c in active
        ],
        "states": {str(c.pk): c.state for c in window},
    }


_VIEWS: dict[str, SnapshotView] = {}


def register(view: SnapshotView) -> None:
    _VIEWS[view.name] = view


def view_named(name: object) -> SnapshotView | None:
    return _VIEWS.get(name) if isinstance(name, str) else None


register(SnapshotView("fleet", _fleet))
register(SnapshotView("node", _node, keyed=True))
register(SnapshotView("transfers", _transfers))
register(SnapshotView("contacts", _contacts))
