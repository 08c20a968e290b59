"""The fleet board (the console's home page) and the registry sections apps contribute."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ops.console.access import can_see_alerts, console_page, page_scopes
from ops.console.selectors import fleet
from ops.console.tiles import tiles_html
from ops.console.views.common import page
from zenith.registry import console_sections


@console_page
def home(request: HttpRequest) -> HttpResponse:
    """A tile per node, LEO and GEO grouped, kept live by the socket."""
    board = fleet.fleet_board(now=timezone.now(), alerts=can_see_alerts(page_scopes(request)))
    limits = {
        name: [m.warn_low, m.warn_high, m.crit_low, m.crit_high]
        for name, m in board.metrics.items()
    }
    groups = [
        {
            "role": role,
            "title": title,
            "count": len(tiles),
            # Escaped field by field in ops.console.tiles.
            "html": mark_safe(tiles_html(tiles, board.metrics)),  # noqa: S308
        }
        for role, title, tiles in (
            ("leo", "LEO compute nodes", board.leo),
            ("geo", "GEO hubs", board.geo),
        )
        if tiles
    ]
    return page(
        request,
        "console/fleet.html",
        {
            "board": board,
            "groups": groups,
            "board_json": fleet.board_json(board),
            "limits": limits,
        },
        section="fleet",
    )


@console_page
def registry(request: HttpRequest) -> HttpResponse:
    """The sections apps registered (``zenith.registry.console_section``) that the signed-in
    person's scopes allow, each rendered from its own context."""
    scopes = page_scopes(request)
    sections = [
        {
            "key": section.key,
            "title": section.title,
            "html": render_to_string(section.template, dict(section.context()), request=request),
        }
        for section in console_sections()
        if section.scopes & scopes
    ]
    return page(request, "console/registry.html", {"sections": sections}, section="registry")
