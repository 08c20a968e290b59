"""What every console figure shares: the dark theme, time strings, JSON for a page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

BG = "#121821"
PANEL = "#0b0f14"
GRID = "#263241"
FG = "#dfe7ef"
MUTED = "#8b9bb0"
ACCENT = "#5cb3ff"
OK = "#3fb950"
WARN = "#e3b341"
BAD = "#ff6b5e"
CONTACT = "#36d1c4"
NIGHT = "#7d8cff"
PALETTE = ["#5cb3ff", "#e3b341", "#36d1c4", "#ff8fab", "#a78bfa", "#7ee787", "#ffa657"]


def ts(moment: datetime) -> str:
    """A UTC wall-clock string as Plotly reads it (no zone: Plotly would ignore it)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def base_layout(**overrides: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "paper_bgcolor": BG,
        "plot_bgcolor": PANEL,
        "font": {"color": FG, "size": 12, "family": "system-ui, sans-serif"},
        "margin": {"l": 56, "r": 16, "t": 28, "b": 40},
        "hoverlabel": {"bgcolor": "#17202b", "bordercolor": GRID, "font": {"color": FG}},
        "legend": {
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11},
        },
    }
    layout.update(overrides)
    return layout


def axis(**overrides: Any) -> dict[str, Any]:
    style: dict[str, Any] = {
        "gridcolor": GRID,
        "zerolinecolor": GRID,
        "linecolor": GRID,
        "tickfont": {"color": MUTED},
    }
    style.update(overrides)
    return style


def to_json(figure: go.Figure) -> str:
    """The figure as JSON safe to place inside a ``<script type="application/json">``."""
    text = pio.to_json(figure, validate=False, engine="orjson")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
