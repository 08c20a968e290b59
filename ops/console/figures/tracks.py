"""The world map: the night side, station footprints, ground tracks (one orbit behind,
dimmed, and one ahead), stations, and every node's position (the page moves them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from ops.console.figures.common import (
    ACCENT,
    BG,
    CONTACT,
    FG,
    GRID,
    MUTED,
    NIGHT,
    WARN,
    base_layout,
)


@dataclass(frozen=True, slots=True)
class Path:
    name: str
    latitude_deg: Sequence[float]
    longitude_deg: Sequence[float]


def broken(
    paths: Sequence[Path],
) -> tuple[list[float | None], list[float | None], list[str | None]]:
    """Paths joined into one line trace, cut where they cross the antimeridian (a jump of
    more than 180 deg in longitude) and between paths."""
    lats: list[float | None] = []
    lons: list[float | None] = []
    names: list[str | None] = []
    for path in paths:
        prev: float | None = None
        for la, lo in zip(path.latitude_deg, path.longitude_deg, strict=True):
            if prev is not None and abs(lo - prev) > 180.0:
                lats.append(None)
                lons.append(None)
                names.append(None)
            lats.append(la)
            lons.append(lo)
            names.append(path.name)
            prev = lo
        lats.append(None)
        lons.append(None)
        names.append(None)
    return lats, lons, names


def night_polygon(
    lons: Sequence[float], lats: Sequence[float], dark_pole: float
) -> tuple[list[float], list[float]]:
    """The night side as a closed ring: along the terminator, then round the dark pole."""
    ring_lon = [*lons, 180.0, -180.0, lons[0]]
    ring_lat = [*lats, dark_pole, dark_pole, lats[0]]
    return ring_lon, ring_lat


@dataclass(frozen=True, slots=True)
class NodeMark:
    slug: str
    latitude_deg: float
    longitude_deg: float
    state: str  # "contact", "eclipse" or ""
    hover: str


@dataclass(frozen=True, slots=True)
class StationPoint:
    slug: str
    latitude_deg: float
    longitude_deg: float
    hover: str


COLOURS = {"contact": CONTACT, "eclipse": NIGHT, "": ACCENT}


def map_figure(
    *,
    night: tuple[Sequence[float], Sequence[float]],
    subsolar: tuple[float, float],
    footprints: Sequence[Path],
    behind: Sequence[Path],
    ahead: Sequence[Path],
    stations: Sequence[StationPoint],
    nodes: Sequence[NodeMark],
    meta: dict[str, object],
) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scattergeo(
            lon=list(night[0]),
            lat=list(night[1]),
            mode="lines",
            fill="toself",
            fillcolor="rgba(0,0,20,0.45)",
            line={"width": 0.5, "color": "rgba(125,140,255,0.5)"},
            name="night",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=[subsolar[1]],
            lat=[subsolar[0]],
            mode="markers",
            name="subsolar point",
            marker={"symbol": "circle", "size": 12, "color": "#ffd479", "line": {"width": 0}},
            hovertemplate="subsolar point<extra></extra>",
        )
    )
    lat, lon, names = broken(footprints)
    fig.add_trace(
        go.Scattergeo(
            lon=lon,
            lat=lat,
            text=names,
            mode="lines",
            name="station visibility",
            line={"color": WARN, "width": 1, "dash": "dot"},
            hovertemplate="%{text} visibility<extra></extra>",
        )
    )
    lat, lon, names = broken(behind)
    fig.add_trace(
        go.Scattergeo(
            lon=lon,
            lat=lat,
            text=names,
            mode="lines",
            name="track behind",
            line={"color": "rgba(92,179,255,0.35)", "width": 1, "dash": "dash"},
            hovertemplate="%{text} (flown)<extra></extra>",
        )
    )
    lat, lon, names = broken(ahead)
    fig.add_trace(
        go.Scattergeo(
            lon=lon,
            lat=lat,
            text=names,
            mode="lines",
            name="track ahead",
            line={"color": "rgba(92,179,255,0.85)", "width": 1.4},
            hovertemplate="%{text} (ahead)<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=[s.longitude_deg for s in stations],
            lat=[s.latitude_deg for s in stations],
            text=[s.slug for s in stations],
            hovertext=[s.hover for s in stations],
            mode="markers+text",
            textposition="bottom center",
            name="stations",
            textfont={"color": WARN, "size": 10},
            marker={"symbol": "triangle-up", "size": 10, "color": WARN},
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=[n.longitude_deg for n in nodes],
            lat=[n.latitude_deg for n in nodes],
            text=[n.slug for n in nodes],
            hovertext=[n.hover for n in nodes],
            mode="markers+text" if len(nodes) <= 60 else "markers",
            textposition="top center",
            textfont={"color": FG, "size": 10},
            name="nodes",
            marker={
                "size": 9 if len(nodes) <= 60 else 6,
                "color": [COLOURS.get(n.state, ACCENT) for n in nodes],
                "line": {"color": BG, "width": 1},
            },
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=600,
            margin={"l": 0, "r": 0, "t": 30, "b": 0},
            meta={**meta, "nodes_trace": len(fig.data) - 1},
            geo={
                "projection": {"type": "equirectangular"},
                "resolution": 110,
                "showland": True,
                "landcolor": "#1b2430",
                "showocean": True,
                "oceancolor": "#0b1118",
                "showcountries": True,
                "countrycolor": "#2c3a4a",
                "showcoastlines": True,
                "coastlinecolor": "#3a4b5e",
                "showlakes": False,
                "bgcolor": BG,
                "lataxis": {"showgrid": True, "gridcolor": GRID, "dtick": 30},
                "lonaxis": {"showgrid": True, "gridcolor": GRID, "dtick": 30},
                "showframe": False,
            },
            legend={
                "orientation": "h",
                "y": 1.0,
                "yanchor": "bottom",
                "x": 0,
                "font": {"color": MUTED},
            },
        )
    )
    return fig
