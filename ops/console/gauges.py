"""The gauges on a fleet tile: what each shows and when it turns amber or red.

Mirrored by ``static/console/fleet.js`` (which redraws them live); the limits come from
the metric registry (warn/crit low/high), so they follow what operators configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetry.models import Metric

# Storage has no registry limits (free bytes depend on the node): a share of capacity.
STORAGE_WARN = 0.85
STORAGE_CRIT = 0.95


@dataclass(frozen=True, slots=True)
class Gauge:
    key: str
    label: str
    percent: float | None  # bar width, 0..100; None: no data
    text: str
    level: str  # "", "warn", "crit", "none"


def limit_level(value: float, metric: Metric | None) -> str:
    if metric is None:
        return ""
    if (metric.crit_low is not None and value <= metric.crit_low) or (
        metric.crit_high is not None and value >= metric.crit_high
    ):
        return "crit"
    if (metric.warn_low is not None and value <= metric.warn_low) or (
        metric.warn_high is not None and value >= metric.warn_high
    ):
        return "warn"
    return ""


def _none(key: str, label: str) -> Gauge:
    return Gauge(key, label, None, "—", "none")


def _clamp(percent: float) -> float:
    return max(0.0, min(100.0, percent))


def tile_gauges(values: dict[str, float], metrics: dict[str, Metric]) -> list[Gauge]:
    out: list[Gauge] = []
    soc = values.get("battery_soc")
    if soc is None:
        out.append(_none("battery", "BAT"))
    else:
        level = limit_level(soc, metrics.get("battery_soc"))
        out.append(Gauge("battery", "BAT", _clamp(soc * 100), f"{soc * 100:.0f}%", level))
    power_in, draw = values.get("power_in_w"), values.get("power_draw_w")
    if power_in is None or draw is None:
        out.append(_none("power", "PWR"))
    else:
        net = power_in - draw
        share = draw / power_in * 100 if power_in > 0 else 100.0
        out.append(
            Gauge("power", "PWR", _clamp(share), f"{net / 1000:+.1f}kW", "warn" if net < 0 else "")
        )
    temp = values.get("gpu_temp_c")
    if temp is None:
        out.append(_none("gpu_temp", "GPU°"))
    else:
        metric = metrics.get("gpu_temp_c")
        top = (metric.crit_high if metric and metric.crit_high else None) or 100.0
        out.append(
            Gauge(
                "gpu_temp",
                "GPU°",
                _clamp(temp / top * 100),
                f"{temp:.0f}°C",
                limit_level(temp, metric),
            )
        )
    util = values.get("gpu_util")
    if util is None:
        out.append(_none("gpu_util", "LOAD"))
    else:
        out.append(Gauge("gpu_util", "LOAD", _clamp(util * 100), f"{util * 100:.0f}%", ""))
    used, free = values.get("storage_used_bytes"), values.get("storage_free_bytes")
    if used is None or free is None or used + free <= 0:
        out.append(_none("storage", "STOR"))
    else:
        share = used / (used + free)
        level = "crit" if share >= STORAGE_CRIT else "warn" if share >= STORAGE_WARN else ""
        out.append(Gauge("storage", "STOR", _clamp(share * 100), f"{share * 100:.0f}%", level))
    return out
