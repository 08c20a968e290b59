"""A pass's sky plot: azimuth around (north up, clockwise), elevation inward (zenith at
the centre), the station's horizon mask shaded, AOS/TCA/LOS marked."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from ops.console.figures.common import ACCENT, BAD, CONTACT, FG, GRID, MUTED, OK, WARN, base_layout


def sky_figure(
    *,
    azimuth_deg: list[float],
    elevation_deg: list[float],
    mask_azimuth_deg: list[float],
    mask_elevation_deg: list[float],
    marks: list[tuple[str, float, float, datetime]],  # label, az, el, when
    title: str,
) -> go.Figure:
    fig = go.Figure()
    # Below the horizon: from the mask out to 0 deg elevation (the rim), shaded.
    ring_r = [90.0 - e for e in mask_elevation_deg] + [90.0] * len(mask_azimuth_deg)
    ring_theta = list(mask_azimuth_deg) + list(reversed(mask_azimuth_deg))
    fig.add_trace(
        go.Scatterpolar(
            r=ring_r,
            theta=ring_theta,
            mode="lines",
            fill="toself",
            name="horizon mask",
            line={"color": WARN, "width": 1},
            fillcolor="rgba(227,179,65,0.18)",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatterpolar(
            r=[90.0 - e for e in elevation_deg],
            theta=azimuth_deg,
            mode="lines",
            name="track",
            line={"color": CONTACT, "width": 2.5},
            customdata=elevation_deg,
            hovertemplate="az %{theta:.1f}°, el %{customdata:.1f}°<extra></extra>",
        )
    )
    colours = {"AOS": OK, "TCA": ACCENT, "LOS": BAD}
    for label, az, el, when in marks:
        fig.add_trace(
            go.Scatterpolar(
                r=[90.0 - el],
                theta=[az],
                mode="markers+text",
                name=label,
                text=[label],
                textposition="top center",
                textfont={"color": FG, "size": 11},
                marker={"size": 10, "color": colours.get(label, FG)},
                hovertemplate=f"{label} {when:%H:%M:%S} UTC<br>az {az:.1f}°, el {el:.1f}°"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            height=420,
            title={"text": title, "font": {"size": 13}, "x": 0.02},
            showlegend=False,
            margin={"l": 30, "r": 30, "t": 50, "b": 30},
            polar={
                "bgcolor": "#0b0f14",
                "angularaxis": {
                    "direction": "clockwise",
                    "rotation": 90,
                    "tickmode": "array",
                    "tickvals": [0, 45, 90, 135, 180, 225, 270, 315],
                    "ticktext": ["N", "NE", "E", "SE", "S", "SW", "W", "NW"],
                    "gridcolor": GRID,
                    "linecolor": GRID,
                    "tickfont": {"color": MUTED},
                },
                "radialaxis": {
                    "range": [0, 90],
                    "tickvals": [0, 30, 60, 90],
                    "ticktext": ["90°", "60°", "30°", "0°"],
                    "gridcolor": GRID,
                    "linecolor": GRID,
                    "tickfont": {"color": MUTED, "size": 10},
                    "angle": 90,
                },
            },
        )
    )
    return fig
