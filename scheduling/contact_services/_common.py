"""Shared pieces of the contact writes: limits, the lock order, event records.

Locking: every write locks the station rows, then the spacecraft rows, in primary-key
order, so a manual booking and a replan cannot both see a free antenna or radio, and
cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from ops.fleet.models import GroundStation, Spacecraft
from scheduling.models import Contact, ContactEvent

PLANNER_ACTOR = "planner"
DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
DEFAULT_FREEZE_S = 900.0
DEFAULT_BUDGET_S = 5.0
MAX_BUDGET_S = 120.0

Progress = Callable[[float], None]


def min_contact_s() -> float:
    """The shortest contact worth booking (``ZENITH_MIN_CONTACT_S``, default 60 s)."""
    return float(settings.ZENITH_MIN_CONTACT_S)


def _record(
    *, contact: Contact, from_state: str, actor: str, reason: str, now: datetime
) -> ContactEvent:
    return ContactEvent.objects.create(
        contact=contact,
        from_state=from_state,
        to_state=contact.state,
        at=now,
        actor=actor[:150],
        reason=reason,
    )


def _seconds(delta_s: float) -> timedelta:
    return timedelta(seconds=delta_s)


def _fmt(row: Contact) -> str:
    return f"contact {row.pk} ({row.start:%Y-%m-%dT%H:%M:%SZ}..{row.end:%H:%M:%SZ})"


def _lock(*, station_ids: Sequence[int], spacecraft_ids: Sequence[int]) -> None:
    list(GroundStation.objects.select_for_update().filter(pk__in=station_ids).order_by("pk"))
    list(Spacecraft.objects.select_for_update().filter(pk__in=spacecraft_ids).order_by("pk"))
