"""Current orbits of many spacecraft, and their light and shadow now and soon."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ops.fleet.models import OrbitSet, Spacecraft
from orbital import groundtrack, propagation, timescales
from scheduling import adapters

# Light and shadow are forecast this far ahead: pages re-ask for a snapshot before then.
SHADOW_HORIZON = timedelta(hours=2)
SHADOW_STEP_S = 60.0


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


def shadow_now(
    *, orbits: dict[int, propagation.Orbit], now: datetime, horizon: timedelta = SHADOW_HORIZON
) -> dict[int, groundtrack.ShadowSchedule]:
    """Each orbit's light at ``now`` and its changes over ``horizon``, by spacecraft id."""
    if not orbits:
        return {}
    ids = list(orbits)
    start = timescales.unix_seconds(now)
    schedules = groundtrack.shadow_schedules(
        [orbits[i] for i in ids],
        start,
        start + horizon.total_seconds(),
        step_s=SHADOW_STEP_S,
    )
    return dict(zip(ids, schedules, strict=True))


def light_changes(
    schedule: groundtrack.ShadowSchedule | None,
) -> list[tuple[datetime, str]]:
    """A schedule's changes as aware datetimes (none without a schedule)."""
    if schedule is None:
        return []
    return [(timescales.to_datetime(t), state) for t, state in schedule.changes]
