"""The world map: positions now and over the next minutes, ground tracks, stations and
their footprints, the night side. plotly.js and its topojson both come from Zenith."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ops.console.access import console_page
from ops.console.figures import common
from ops.console.figures.tracks import NodeMark, Path, StationPoint, map_figure, night_polygon
from ops.console.selectors import tracks as track_reads
from ops.console.selectors.fleet import iso
from ops.console.views.common import page


def _chosen(request: HttpRequest) -> set[str] | None:
    names = [n for n in request.GET.getlist("track") if n]
    return set(names) if names else None


def map_json(world: track_reads.WorldMap) -> str:
    def state(pk: int) -> str:
        if pk in world.contact:
            return "contact"
        return "eclipse" if world.light.get(pk) in ("umbra", "penumbra") else ""

    nodes = [
        NodeMark(
            slug=c.slug,
            latitude_deg=world.positions_lat[i][0],
            longitude_deg=world.positions_lon[i][0],
            state=state(c.pk),
            hover=f"<b>{c.slug}</b> ({c.get_role_display()})"
            + (f"<br>in contact: {world.contact[c.pk]}" if c.pk in world.contact else "")
            + (f"<br>{world.light.get(c.pk)}" if world.light.get(c.pk) else ""),
        )
        for i, c in enumerate(world.crafts)
    ]
    figure = map_figure(
        night=night_polygon(world.terminator_lon, world.terminator_lat, world.dark_pole),
        subsolar=world.subsolar,
        footprints=[Path(s.station.slug, s.footprint_lat, s.footprint_lon) for s in world.stations],
        behind=[
            Path(t.craft.slug, t.latitude_deg[: t.behind], t.longitude_deg[: t.behind])
            for t in world.tracks
        ],
        ahead=[
            Path(t.craft.slug, t.latitude_deg[t.behind - 1 :], t.longitude_deg[t.behind - 1 :])
            for t in world.tracks
        ],
        stations=[
            StationPoint(
                s.station.slug,
                s.station.latitude_deg,
                s.station.longitude_deg,
                f"<b>{s.station.name}</b><br>min el. {s.station.min_elevation_deg}°"
                f" · {s.station.antennas} antennas",
            )
            for s in world.stations
        ],
        nodes=nodes,
        meta={
            "positions": {
                "t0": iso(world.positions_t0),
                "step_s": track_reads.POSITION_STEP_S,
                "slugs": [c.slug for c in world.crafts],
                "ids": [c.pk for c in world.crafts],
                "lat": world.positions_lat,
                "lon": world.positions_lon,
            },
            "altitude_km": round(world.reference_altitude_km),
        },
    )
    return common.to_json(figure)


@console_page
def tracks(request: HttpRequest) -> HttpResponse:
    world = track_reads.world_map(now=timezone.now(), track_slugs=_chosen(request))
    return page(
        request,
        "console/tracks.html",
        {
            "world": world,
            "figure": map_json(world),
            "tracked": {t.craft.slug for t in world.tracks},
            "all_tracks_up_to": track_reads.ALL_TRACKS_UP_TO,
        },
        section="tracks",
    )


@console_page
def tracks_figure(request: HttpRequest) -> HttpResponse:
    world = track_reads.world_map(now=timezone.now(), track_slugs=_chosen(request))
    response = HttpResponse(map_json(world), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
