"""Contact reads: the plan, one contact with its history."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from ops.edge.access import only_allowed
from scheduling.models import Contact, ContactEvent
from scheduling.selectors import get_one


def contact_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Contact]:
    """Contacts in start order, with their spacecraft and station; only the caller's
    spacecraft when it is restricted. The API filters them (``ContactFilter``)."""
    qs = Contact.objects.select_related("spacecraft", "station").order_by("start", "pk")
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


def contact_get(
    *, contact_id: int, allowed_spacecraft_ids: frozenset[int] | None = None
) -> Contact:
    """One contact with its events (oldest first); :class:`NotFound` otherwise."""
    events = Prefetch("events", queryset=ContactEvent.objects.order_by("at", "pk"))
    rows = contact_list(allowed_spacecraft_ids=allowed_spacecraft_ids).prefetch_related(events)
    return get_one(rows, pk=contact_id, noun="contact")
