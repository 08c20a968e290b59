"""Dispatch: which contacts to run now, and which ended with nobody running them.

``contact_dispatch_due`` runs on Celery beat every few seconds: contacts about to start
(or whose runner's lease lapsed) are handed to ``contact_run`` tasks; contacts past LOS
that nobody ran are failed, saying why, and their transfers replanned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling.models import ACTIVE_CONTACT_STATES, Contact, ContactState
from scheduling.services.contacts import contact_transition
from scheduling.services.execution.leases import contact_release, lease_expired, lease_s
from scheduling.services.transfers.plan import transfer_plan_refresh


@dataclass(frozen=True)
class DispatchOutcome:
    due: tuple[int, ...]
    closed: tuple[int, ...]


def contact_dispatch_due(*, now: datetime | None = None) -> DispatchOutcome:
    """Contacts to run now (each marked dispatched, so the next beat does not repeat
    it unless its runner never took the lease) and contacts that ended with nobody
    running them (failed). A transfer a dead runner left ``verifying`` is verified by
    the spacecraft's next runner (its pumps check for one first)."""
    now = now or timezone.now()
    lease = timedelta(seconds=lease_s())
    lead = timedelta(seconds=float(settings.ZENITH_DISPATCH_LEAD_S))
    closed = [
        c.pk
        for c in Contact.objects.filter(state__in=ACTIVE_CONTACT_STATES, end__lte=now)
        .filter(lease_expired(now))
        .order_by("pk")
        if close_unrun(contact_id=c.pk, now=now)
    ]
    ready = (
        Contact.objects.filter(state__in=ACTIVE_CONTACT_STATES, start__lte=now + lead, end__gt=now)
        .filter(lease_expired(now))
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - lease))
    )
    due = []
    for pk in ready.order_by("start", "pk").values_list("pk", flat=True):
        if ready.filter(pk=pk).update(dispatched_at=now):
            due.append(pk)
    return DispatchOutcome(tuple(due), tuple(closed))


def close_unrun(*, contact_id: int, now: datetime) -> bool:
    with transaction.atomic():
        row = (
            Contact.objects.select_for_update()
            .filter(pk=contact_id, state__in=ACTIVE_CONTACT_STATES, end__lte=now)
            .filter(lease_expired(now))
            .first()
        )
        if row is None:
            return False
        reason = (
            "not executed: no runner took it before LOS"
            if row.state == ContactState.SCHEDULED
            else "runner lost before LOS"
        )
        contact_transition(
            contact=row, to_state=ContactState.FAILED, actor="dispatcher", reason=reason, now=now
        )
        contact_release(row, now=now, actor="dispatcher")
    transfer_plan_refresh(spacecraft_ids=[row.spacecraft_id], now=now)
    return True
