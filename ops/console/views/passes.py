"""The passes timeline (stations x time: passes, contacts, maintenance, conflicts) and a
pass's sky plot (a page, and JSON the timeline opens in its side panel)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from ops.console.access import console_page
from ops.console.figures import common
from ops.console.figures.sky import sky_figure
from ops.console.figures.timeline import Bar, timeline_figure
from ops.console.selectors import passes as pass_reads
from ops.console.views.common import page
from scheduling.exceptions import NotFound


def _hours(request: HttpRequest) -> int:
    try:
        hours = int(request.GET.get("hours", "24"))
    except ValueError:
        hours = 24
    return hours if hours in pass_reads.HOURS_CHOICES else 24


def timeline_json(line: pass_reads.Timeline) -> str:
    passes = [
        Bar(
            row=p.station.slug,
            start=p.aos,
            end=p.los,
            label=p.spacecraft.slug,
            hover=(
                f"<b>{p.spacecraft.slug}</b> over {p.station.slug}<br>"
                f"AOS {p.aos:%H:%M:%S} · LOS {p.los:%H:%M:%S} UTC<br>"
                f"max el. {p.max_elevation_deg:.1f}°"
                + (" · in maintenance" if getattr(p, "in_maintenance", False) else "")
                + "<br><i>click: sky plot</i>"
            ),
            pass_id=p.pk,
        )
        for p in line.passes
    ]
    contacts = [
        Bar(
            row=c.station.slug,
            start=c.start,
            end=c.end,
            label=c.spacecraft.slug,
            hover=(
                f"<b>contact {c.pk}</b>: {c.spacecraft.slug} on {c.station.slug}/{c.antenna}<br>"
                f"{c.start:%H:%M:%S}-{c.end:%H:%M:%S} UTC · {c.state}<br>"
                f"up {c.uplink_capacity_bytes / 1e9:.2f} GB · "
                f"down {c.downlink_capacity_bytes / 1e9:.2f} GB"
                + "".join(f"<br>⚠ {r}" for r in line.conflicts.get(c.pk, []))
            ),
            pass_id=c.pass_ref_id,
            state=c.state,
            conflict="; ".join(line.conflicts.get(c.pk, [])),
        )
        for c in line.contacts
    ]
    stations = {s.pk: s.slug for s in line.stations}
    maintenance = [
        Bar(
            row=stations[w.station_id],
            start=max(w.starts_at, line.start),
            end=min(w.ends_at, line.end),
            label="maintenance",
            hover=f"<b>maintenance</b> {w.starts_at:%m-%d %H:%M}-{w.ends_at:%m-%d %H:%M} UTC"
            + (f"<br>{w.reason}" if w.reason else ""),
            pass_id=None,
        )
        for w in line.maintenance
        if w.station_id in stations
    ]
    figure = timeline_figure(
        stations=[s.slug for s in line.stations],
        start=line.start,
        end=line.end,
        now=line.now,
        passes=passes,
        contacts=contacts,
        maintenance=maintenance,
    )
    return common.to_json(figure)


@console_page
def passes(request: HttpRequest) -> HttpResponse:
    hours = _hours(request)
    line = pass_reads.timeline(now=timezone.now(), hours=hours)
    upcoming = [c for c in line.contacts if c.end > line.now][:30]
    return page(
        request,
        "console/passes.html",
        {
            "line": line,
            "figure": timeline_json(line),
            "hours": hours,
            "hours_choices": pass_reads.HOURS_CHOICES,
            "upcoming": upcoming,
            "conflicts": line.conflicts,
            "max_passes": pass_reads.MAX_PASSES_DRAWN,
        },
        section="passes",
    )


@console_page
def passes_figure(request: HttpRequest) -> HttpResponse:
    line = pass_reads.timeline(now=timezone.now(), hours=_hours(request))
    response = HttpResponse(timeline_json(line), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _sky(pass_id: int) -> tuple[pass_reads.SkyTrack, str]:
    try:
        track = pass_reads.sky_track(pass_id=pass_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    p = track.pass_
    marks: list[tuple[str, float, float, Any]] = []
    if track.azimuth_deg:
        marks.append(("AOS", track.azimuth_deg[0], track.elevation_deg[0], p.aos))
        marks.append(("LOS", track.azimuth_deg[-1], track.elevation_deg[-1], p.los))
        peak = max(range(len(track.elevation_deg)), key=track.elevation_deg.__getitem__)
        marks.append(("TCA", track.azimuth_deg[peak], track.elevation_deg[peak], p.tca))
    figure = sky_figure(
        azimuth_deg=track.azimuth_deg,
        elevation_deg=track.elevation_deg,
        mask_azimuth_deg=track.mask_azimuth_deg,
        mask_elevation_deg=track.mask_elevation_deg,
        marks=marks,
        title=f"{p.spacecraft.slug} over {p.station.slug}, max {p.max_elevation_deg:.1f}°",
    )
    return track, common.to_json(figure)


@console_page
def pass_detail(request: HttpRequest, pk: int) -> HttpResponse:
    track, figure = _sky(pk)
    return page(
        request,
        "console/pass.html",
        {"track": track, "p": track.pass_, "figure": figure},
        section="passes",
    )


@console_page
def pass_sky(request: HttpRequest, pk: int) -> HttpResponse:
    _track, figure = _sky(pk)
    return HttpResponse(figure, content_type="application/json")
