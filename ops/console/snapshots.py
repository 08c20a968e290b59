"""Snapshots a page asks the socket for on every (re)connect, so nothing it shows is
silently stale: after a reconnect, what changed while the socket was down is in the
snapshot, and what changes after it arrives as live events (the socket joins its groups
before it reads the snapshot, and relays events only after sending it).

A view is a name (``fleet``, ``node`` with a key, ``transfers``, ``contacts``,
``alerts``, ``node_alerts`` with a key), the scopes that may read it and a function
building its JSON from the console's selectors. Rows that carry controls come as HTML
from the page's own row template (one markup, whoever renders it), with their live
payload beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ops.alerts.live import alert_payload
from ops.console.access import ALERTS, READ, can_act, can_see_alerts
from ops.console.selectors import alerts as alert_reads
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
    board = fleet.fleet_board(now=timezone.now(), alerts=can_see_alerts(scopes))
    return fleet.board_json(board)


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


def alert_rows(lists: alert_reads.AlertLists, *, scopes: frozenset[str]) -> list[dict[str, Any]]:
    """Each open alert as the pages' script places it: its list, its row (the same
    template as the page's) and its live payload (the shape of ``alert.changed``)."""
    context = {"can_act": can_act(scopes)}
    return [
        {
            "id": alert.pk,
            "group": group,
            "html": render_to_string("console/_alert_row.html", {**context, "a": alert}),
            "alert": alert_payload(alert),
        }
        for group, alert in lists.rows()
    ]


def _alerts(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    now = timezone.now()
    lists = alert_reads.open_alerts(now=now)
    return {
        "now": iso(now),
        "counts": lists.counts,
        "rows": alert_rows(lists, scopes=scopes),
        "oncall_html": render_to_string(
            "console/_oncall.html", {"oncall": alert_reads.oncall(now=now)}
        ),
    }


def _node_alerts(key: str | None, scopes: frozenset[str]) -> dict[str, Any]:
    assert key is not None
    craft = node_reads.node_get(slug=key)
    now = timezone.now()
    lists = alert_reads.open_alerts(now=now, spacecraft_id=craft.pk)
    return {"now": iso(now), "counts": lists.counts, "rows": alert_rows(lists, scopes=scopes)}


_VIEWS: dict[str, SnapshotView] = {}


def register(view: SnapshotView) -> None:
    _VIEWS[view.name] = view


def view_named(name: object) -> SnapshotView | None:
    return _VIEWS.get(name) if isinstance(name, str) else None


register(SnapshotView("fleet", _fleet))
register(SnapshotView("node", _node, keyed=True))
register(SnapshotView("transfers", _transfers))
register(SnapshotView("contacts", _contacts))
register(SnapshotView("alerts", _alerts, scopes=ALERTS))
register(SnapshotView("node_alerts", _node_alerts, keyed=True, scopes=ALERTS))
