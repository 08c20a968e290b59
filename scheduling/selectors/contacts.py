"""Contact reads: the plan for a window, one contact with its history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from scheduling.exceptions import NotFound
from scheduling.models import Contact, ContactEvent


def contact_plan(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    station_slug: str | None = None,
    spacecraft_slug: str | None = None,
    states: Sequence[str] = (),
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> QuerySet[Contact]:
    """Contacts overlapping [start, end) (either bound optional), in start order, with
    their spacecraft and station; filtered by station/spacecraft slug and states."""
    qs = Contact.objects.select_related("spacecraft", "station").order_by("start", "pk")
    if start is not None:
        qs = qs.filter(end__gt=start)
    if end is not None:
        qs = qs.filter(start__lt=end)
    if station_slug:
        qs = qs.filter(station__slug=station_slug)
    if spacecraft_slug:
        qs = qs.filter(spacecraft__slug=spacecraft_slug)
    if states:
        qs = qs.filter(state__in=list(states))
    if allowed_spacecraft_ids is not None:
        qs = qs.filter(spacecraft_id__in=allowed_spacecraft_ids)
    return qs


def contact_get(
    *, contact_id: int, allowed_spacecraft_ids: frozenset[int] | None = None
) -> Contact:
    """One contact with its events (oldest first); :class:`NotFound` otherwise."""
    found = (
        contact_plan(allowed_spacecraft_ids=allowed_spacecraft_ids)
        .prefetch_related(Prefetch("events", queryset=ContactEvent.objects.order_by("at", "pk")))
        .filter(pk=contact_id)
        .first()
    )
    if found is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return found
