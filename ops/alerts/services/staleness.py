"""Pass-aware staleness (stage 3; placeholder until then)."""

from __future__ import annotations

from datetime import datetime


def staleness_check(*, now: datetime) -> dict[str, int]:
    return {"raised": 0, "cleared": 0}
