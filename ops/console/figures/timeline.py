"""The passes timeline: a row per station; predicted passes as thin bars, booked
contacts as bars coloured by state (conflicts outlined red), maintenance hatched, and a
"now" line the page moves. A bar's ``customdata`` holds its pass id (the page opens the
pass's sky plot on click)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go

from ops.console.figures.common import (
    ACCENT,
    BAD,
    CONTACT,
    GRID,
    MUTED,
    OK,
    WARN,
    axis,
    base_layout,
    ts,
)

STATE_COLOURS = {
    "scheduled": ACCENT,
    "in_progress": CONTACT,
    "completed": OK,
    "failed": BAD,
    "aborted": BAD,
    "cancelled": "#5c6b7d",
}


@dataclass(frozen=True, slots=True)
class Bar:
    row: str  # the station
    start: datetime
    end: datetime
    label: str
    hover: str
    pass_id: int | None
    state: str = ""
    conflict: str = ""


def _bars(bars: list[Bar], **trace: object) -> go.Bar:
    return go.Bar(
        orientation="h",
        y=[b.row for b in bars],
        base=[ts(b.start) for b in bars],
        x=[max(1.0, (b.end - b.start).total_seconds() * 1000.0) for b in bars],
        customdata=[b.pass_id for b in bars],
        hovertext=[b.hover for b in bars],
        hovertemplate="%{hovertext}<extra></extra>",
        **trace,
    )


def timeline_figure(
    *,
    stations: list[str],
    start: datetime,
    end: datetime,
    now: datetime,
    passes: list[Bar],
    contacts: list[Bar],
    maintenance: list[Bar],
) -> go.Figure:
    fig = go.Figure()
    if passes:
        fig.add_trace(
            _bars(
                passes,
                name="predicted pass",
                width=0.8,
                marker={"color": "rgba(139,155,176,0.22)", "line": {"color": MUTED, "width": 0.5}},
            )
        )
    if maintenance:
        fig.add_trace(
            _bars(
                maintenance,
                name="maintenance",
                width=0.9,
                marker={
                    "color": "rgba(227,179,65,0.18)",
                    "line": {"color": WARN, "width": 1},
                    "pattern": {"shape": "/", "fgcolor": WARN, "size": 6},
                },
            )
        )
    for state, colour in STATE_COLOURS.items():
        chosen = [b for b in contacts if b.state == state]
        if not chosen:
            continue
        fig.add_trace(
            _bars(
                chosen,
                name=f"contact {state.replace('_', ' ')}",
                width=0.5,
                text=[b.label for b in chosen],
                textposition="inside",
                insidetextanchor="start",
                textfont={"size": 10, "color": "#0b0f14"},
                marker={
                    "color": colour,
                    "line": {
                        "color": [BAD if b.conflict else colour for b in chosen],
                        "width": [3 if b.conflict else 0 for b in chosen],
                    },
                },
            )
        )
    conflicted = [b for b in contacts if b.conflict]
    if conflicted:
        fig.add_trace(
            go.Scatter(
                x=[ts(b.start) for b in conflicted],
                y=[b.row for b in conflicted],
                mode="markers",
                name="conflict",
                marker={"symbol": "x", "color": BAD, "size": 11},
                hovertext=[b.conflict for b in conflicted],
                hovertemplate="%{hovertext}<extra>conflict</extra>",
                customdata=[b.pass_id for b in conflicted],
            )
        )
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=ts(now),
        x1=ts(now),
        y0=0,
        y1=1,
        line={"color": BAD, "width": 2},
        name="now",
    )
    fig.add_annotation(
        x=ts(now),
        y=1,
        xref="x",
        yref="paper",
        text="now",
        showarrow=False,
        yanchor="bottom",
        font={"color": BAD, "size": 11},
        name="now",
    )
    fig.update_layout(
        **base_layout(
            barmode="overlay",
            height=max(280, 120 + 56 * len(stations)),
            bargap=0.2,
            hovermode="closest",
            meta={"time": "xaxis", "now": ts(now)},
            margin={"l": 110, "r": 16, "t": 40, "b": 40},
        )
    )
    fig.update_xaxes(
        **axis(
            type="date",
            range=[ts(start), ts(end)],
            title={"text": "time (UTC)", "font": {"color": MUTED}},
        )
    )
    fig.update_yaxes(
        **axis(
            type="category",
            categoryorder="array",
            categoryarray=list(reversed(stations)),
            gridcolor=GRID,
        )
    )
    return fig
