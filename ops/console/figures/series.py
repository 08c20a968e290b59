"""A node's metrics over a range: one panel per metric sharing the time axis.

Each panel draws the bucket mean as a line with the bucket min..max as a band (counters:
their rate per second, resets handled by the store). Empty buckets are gaps: nothing is
drawn across them. LOS periods (no station in view) are shaded across every panel. The
page appends live samples to the ``line`` trace of each panel (``layout.meta.series``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ops.console.figures.common import (
    ACCENT,
    FG,
    GRID,
    MUTED,
    PALETTE,
    axis,
    base_layout,
    ts,
)


@dataclass(frozen=True, slots=True)
class Line:
    """One metric's buckets: start times and (mean, min, max), ``None`` for a gap."""

    metric: str
    unit: str
    counter: bool
    times: list[datetime]
    mean: list[float | None]
    low: list[float | None]
    high: list[float | None]


def band(
    x: list[str], low: list[float | None], high: list[float | None]
) -> tuple[list[str | None], list[float | None]]:
    """The min..max band as closed polygons, one per run of buckets without a gap
    (separated by ``None``, which Plotly fills one by one)."""
    out_x: list[str | None] = []
    out_y: list[float | None] = []
    run: list[int] = []

    def close() -> None:
        if run:
            out_x.extend([x[i] for i in run] + [x[i] for i in reversed(run)] + [None])
            out_y.extend([high[i] for i in run] + [low[i] for i in reversed(run)] + [None])
            run.clear()

    for i in range(len(x)):
        if low[i] is None or high[i] is None:
            close()
        else:
            run.append(i)
    close()
    return out_x, out_y


def _label(line: Line) -> str:
    unit = f"{line.unit}/s" if line.counter else line.unit
    title = f"{line.metric} rate" if line.counter else line.metric
    return f"{title} ({unit})" if unit else title


def series_figure(
    *, lines: list[Line], start: datetime, end: datetime, los: list[tuple[datetime, datetime]]
) -> go.Figure:
    rows = max(1, len(lines))
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    meta_series = []
    trace_index = 0
    for row, line in enumerate(lines, start=1):
        colour = PALETTE[(row - 1) % len(PALETTE)]
        x = [ts(t) for t in line.times]
        has_band = any(
            lo is not None and hi is not None and hi > lo
            for lo, hi in zip(line.low, line.high, strict=True)
        )
        if has_band and not line.counter:
            band_x, band_y = band(x, line.low, line.high)
            fig.add_trace(
                go.Scatter(
                    x=band_x,
                    y=band_y,
                    mode="lines",
                    line={"width": 0},
                    fill="toself",
                    fillcolor="rgba(92,179,255,0.16)",
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=row,
                col=1,
            )
            trace_index += 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=line.mean,
                mode="lines",
                name=_label(line),
                connectgaps=False,
                line={"color": colour, "width": 1.6},
                hovertemplate="%{y:.4g}<extra>" + line.metric + "</extra>",
            ),
            row=row,
            col=1,
        )
        meta_series.append(
            {"metric": line.metric, "trace": trace_index, "counter": line.counter, "row": row}
        )
        trace_index += 1
        fig.update_yaxes(
            title={"text": _label(line), "font": {"size": 11, "color": MUTED}},
            row=row,
            col=1,
            **axis(),
        )
    for lo, hi in los:
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=ts(lo),
            x1=ts(hi),
            y0=0,
            y1=1,
            fillcolor="rgba(125,140,255,0.10)",
            line={"width": 0},
            layer="below",
        )
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=ts(end),
        x1=ts(end),
        y0=0,
        y1=1,
        line={"color": ACCENT, "width": 1, "dash": "dot"},
    )
    fig.update_xaxes(**axis(), range=[ts(start), ts(end)])
    fig.update_xaxes(title={"text": "time (UTC)", "font": {"color": MUTED}}, row=rows, col=1)
    if not lines:
        fig.add_annotation(
            text="choose metrics to plot",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            font={"color": FG},
        )
    fig.update_layout(
        **base_layout(
            height=max(260, 170 * rows + 60),
            showlegend=False,
            hovermode="x unified",
            meta={
                "time": f"xaxis{rows if rows > 1 else ''}",
                "series": meta_series,
                "los": [[ts(lo), ts(hi)] for lo, hi in los],
                "grid": GRID,
            },
        )
    )
    return fig
