"""Contact leases: who runs a contact. A runner claims the contact with a conditional
update that bumps ``run_token`` and renews the lease every second; a runner whose token
is no longer the contact's stops at once, so a redelivered or re-dispatched task never
runs beside a live one. ``contact_release`` frees what a finished or lost run held."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from scheduling.models import (
    ACTIVE_CONTACT_STATES,
    Contact,
    ContactState,
    Transfer,
    TransferChunk,
    TransferState,
)
from scheduling.services.transfers.states import move


def lease_s() -> float:
    return float(settings.ZENITH_CONTACT_LEASE_S)


def lease_expired(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def lease_claim(*, contact_id: int, runner: str, now: datetime) -> int | None:
    with transaction.atomic():
        row = (
            Contact.objects.select_for_update()
            .filter(pk=contact_id, state__in=ACTIVE_CONTACT_STATES, end__gt=now)
            .filter(lease_expired(now))
            .first()
        )
        if row is None:
            return None
        row.run_token += 1
        row.lease_until = now + timedelta(seconds=lease_s())
        row.runner = runner[:150]
        row.save(update_fields=["run_token", "lease_until", "runner"])
        return row.run_token


def lease_renew(*, contact_id: int, token: int, now: datetime) -> bool:
    return bool(
        Contact.objects.filter(pk=contact_id, run_token=token).update(
            lease_until=now + timedelta(seconds=lease_s())
        )
    )


def contact_release(contact: Contact, *, now: datetime, actor: str) -> None:
    """Free the contact's chunk claims and put its unfinished transfers back in the
    queue (unless another contact of the spacecraft is carrying them now)."""
    TransferChunk.objects.filter(claim_contact=contact.pk, acked_at__isnull=True).update(
        claimed_until=None, claim_contact=None
    )
    others = Contact.objects.filter(
        spacecraft_id=contact.spacecraft_id,
        state=ContactState.IN_PROGRESS,
        lease_until__gt=now,
    ).exclude(pk=contact.pk)
    if others.exists():
        return
    for t in Transfer.objects.filter(
        spacecraft_id=contact.spacecraft_id, state=TransferState.IN_PROGRESS
    ).order_by("pk"):
        left = t.chunk_count - t.chunks_done
        move(
            transfer=t,
            to_state=TransferState.QUEUED,
            actor=actor,
            now=now,
            contact=contact,
            detail=f"contact {contact.pk} over ({contact.station.slug}): {left} chunk(s) left",
            expect=(TransferState.IN_PROGRESS,),
        )
