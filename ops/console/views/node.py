"""One node: its series (range presets, chosen metrics, appended live), newest values,
contact and light, current and next passes, its transfers, its open alerts (with their
controls, for the roles that may see alerts)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from ops.console import gauges
from ops.console.access import can_act, can_see_alerts, console_page, page_scopes
from ops.console.figures import common
from ops.console.figures.series import Line, series_figure
from ops.console.selectors import alerts as alert_reads
from ops.console.selectors import node as node_reads
from ops.console.selectors.fleet import iso
from ops.console.selectors.orbits import light_changes
from ops.console.views.common import page
from scheduling.exceptions import NotFound


def lines_of(series_set: node_reads.SeriesSet) -> list[Line]:
    lines = []
    for s in series_set.series:
        counter = node_reads.is_counter(s.metric)
        times = [b.start for b in s.buckets]
        if counter:
            rates = [b.rate_per_s if b.count else None for b in s.buckets]
            lines.append(Line(s.metric.name, s.metric.unit, True, times, rates, rates, rates))
        else:
            lines.append(
                Line(
                    s.metric.name,
                    s.metric.unit,
                    False,
                    times,
                    [b.avg for b in s.buckets],
                    [b.min for b in s.buckets],
                    [b.max for b in s.buckets],
                )
            )
    return lines


def _figure_json(request: HttpRequest, slug: str) -> tuple[str, str, list[str]]:
    craft = node_reads.node_get(slug=slug)
    range_key = node_reads.range_key(request.GET.get("range"))
    names = request.GET.getlist("m") or list(node_reads.DEFAULT_METRICS)
    metrics = node_reads.chosen_metrics(names)
    series_set = node_reads.node_series(
        craft=craft, metrics=metrics, range_key=range_key, now=timezone.now()
    )
    figure = series_figure(
        lines=lines_of(series_set), start=series_set.start, end=series_set.end, los=series_set.los
    )
    return common.to_json(figure), range_key, [m.name for m in metrics]


def value_rows(view: node_reads.NodeView) -> list[dict[str, Any]]:
    return [
        {
            "name": metric.name,
            "unit": metric.unit,
            "value": value.value,
            "time": value.time,
            "level": gauges.limit_level(value.value, metric),
            "description": metric.description,
        }
        for metric, value in sorted(view.latest, key=lambda pair: pair[0].name)
    ]


@console_page
def node(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        view = node_reads.node_view(slug=slug, now=timezone.now())
        figure, range_key, chosen = _figure_json(request, slug)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    limits = {m.name: [m.warn_low, m.warn_high, m.crit_low, m.crit_high] for m in view.metrics}
    scopes = page_scopes(request)
    alert_rows: list[tuple[str, Any]] = []
    if can_see_alerts(scopes):
        alert_rows = alert_reads.open_alerts(now=timezone.now(), spacecraft_id=view.craft.pk).rows()
    return page(
        request,
        "console/node.html",
        {
            "view": view,
            "craft": view.craft,
            "figure": figure,
            "range_key": range_key,
            "ranges": node_reads.RANGES,
            "live_ranges": sorted(node_reads.LIVE_RANGES),
            "chosen": chosen,
            "values": value_rows(view),
            "limits": limits,
            "units": {m.name: m.unit for m in view.metrics},
            "counters": [m.name for m in view.metrics if node_reads.is_counter(m)],
            "light_changes": [[iso(at), state] for at, state in light_changes(view.light)],
            "can_act": can_act(scopes),
            "alert_rows": alert_rows,
            "alert_count": len(alert_rows),
            "people": alert_reads.assignable_people()
            if can_see_alerts(scopes) and can_act(scopes)
            else [],
        },
        section="fleet",
    )


@console_page
def node_series(request: HttpRequest, slug: str) -> HttpResponse:
    """The series figure for a range and metrics, as JSON (the page redraws with it)."""
    try:
        figure, _range_key, _chosen = _figure_json(request, slug)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    response = HttpResponse(figure, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
