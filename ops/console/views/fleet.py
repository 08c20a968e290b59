"""The fleet board (the console's home page) and the registry sections apps contribute."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from ops.console.access import console_page, page_scopes
from ops.console.selectors import fleet
from ops.console.views.common import page
from zenith.registry import console_sections


@console_page
def home(request: HttpRequest) -> HttpResponse:
    """A tile per node, LEO and GEO grouped, kept live by the socket."""
    board = fleet.fleet_board(now=timezone.now())
    limits = {
        name: [m.warn_low, m.warn_high, m.crit_low, m.crit_high]
        for name, m in board.metrics.items()
    }
    return page(
        request,
        "console/fleet.html",
        {
            "board": board,
            "groups": [
                group
                for group in (
                    {"role": "leo", "title": "LEO compute nodes", "tiles": board.leo},
                    {"role": "geo", "title": "GEO hubs", "tiles": board.geo},
                )
                if group["tiles"]
            ],
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
