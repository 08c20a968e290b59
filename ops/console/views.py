"""Operator console pages. Thin: selectors or registered sections, then a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from ops.edge.access import scopes_for_user
from zenith.registry import console_sections


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page: the sections apps registered (``zenith.registry.console_section``)
    that the signed-in person's scopes allow, each rendered from its own context."""
    scopes = scopes_for_user(request.user)
    sections = [
        {
            "key": section.key,
            "title": section.title,
            "html": render_to_string(section.template, dict(section.context()), request=request),
        }
        for section in console_sections()
        if section.scopes & scopes
    ]
    return render(request, "console/home.html", {"sections": sections, "scopes": sorted(scopes)})
