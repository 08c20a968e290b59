"""Current orbits of many spacecraft, and their light and shadow now and soon."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ops.fleet.models import OrbitSet, Spacecraft
from orbital import groundtrack, propagation, timescales
from scheduling import adapters

# Light and shadow are forecast this far ahead: pages re-ask for a snapshot before then.
SHADOW_HORIZON = timedelta(hours=1)
SHADOW_STEP_S = 120.0  # linear between samples: a few seconds at a boundary


def current_orbits(*, spacecraft: Sequence[Spacecraft]) -> dict[int, propagation.Orbit]:
    """Each spacecraft's current orbit, by spacecraft id (one query). The spacecraft
    come from ``ops.fleet.selectors.spacecraft_list`` (``current_orbit_set_id``)."""
    wanted = [
        getattr(craft, "current_orbit_set_id", None)
        for craft in spacecraft
        if getattr(craft, "current_orbit_set_id", None) is not None
    ]
    if not wanted:
        return {}
    sets = OrbitSet.objects.in_bulk(wanted)
    return {s.spacecraft_id: adapters.orbit_of(s) for s in sets.values()}


# Shadow forecasts are shared for this long (every console's snapshot, every page load):
# computed once from the start of the period, then advanced to "now" per caller.
SHADOW_REUSE_S = 30
_shadow_lock = threading.Lock()
_shadow_cache: OrderedDict[tuple[Any, ...], dict[int, groundtrack.ShadowSchedule]] = OrderedDict()


def _advance(schedule: groundtrack.ShadowSchedule, at_s: float) -> groundtrack.ShadowSchedule:
    """The schedule as seen at ``at_s``: the state then, and only the later changes."""
    state = schedule.state
    later = []
    for when, kind in schedule.changes:
        if when <= at_s:
            state = kind
        else:
            later.append((when, kind))
    return groundtrack.ShadowSchedule(state, tuple(later))


def shadow_now(
    *, orbits: dict[int, propagation.Orbit], now: datetime, horizon: timedelta = SHADOW_HORIZON
) -> dict[int, groundtrack.ShadowSchedule]:
    """Each orbit's light at ``now`` and its changes over about ``horizon``, by spacecraft
    id (the forecast is shared by callers within ``SHADOW_REUSE_S``)."""
    if not orbits:
        return {}
    now_s = timescales.unix_seconds(now)
    period_start = now_s - now_s % SHADOW_REUSE_S
    ids = sorted(orbits)
    key = (period_start, horizon, tuple((i, orbits[i].orbit_set) for i in ids))
    with _shadow_lock:
        found = _shadow_cache.get(key)
    if found is None:
        schedules = groundtrack.shadow_schedules(
            [orbits[i] for i in ids],
            period_start,
            period_start + horizon.total_seconds() + SHADOW_REUSE_S,
            step_s=SHADOW_STEP_S,
        )
        found = dict(zip(ids, schedules, strict=True))
        with _shadow_lock:
            _shadow_cache[key] = found
            while len(_shadow_cache) > 8:
                _shadow_cache.popitem(last=False)
    return {i: _advance(schedule, now_s) for i, schedule in found.items()}


def light_changes(
    schedule: groundtrack.ShadowSchedule | None,
) -> list[tuple[datetime, str]]:
    """A schedule's changes as aware datetimes (none without a schedule)."""
    if schedule is None:
        return []
    return [(timescales.to_datetime(t), state) for t, state in schedule.changes]
