"""The contact lifecycle: the allowed transitions, and the writes that follow them."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from scheduling.contact_services._common import _record
from scheduling.exceptions import InvalidTransition
from scheduling.models import Contact, ContactState

# The lifecycle. Terminal states (completed, failed, cancelled, aborted) go nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    ContactState.SCHEDULED: frozenset(
        {ContactState.IN_PROGRESS, ContactState.CANCELLED, ContactState.FAILED}
    ),
    ContactState.IN_PROGRESS: frozenset(
        {ContactState.COMPLETED, ContactState.FAILED, ContactState.ABORTED}
    ),
}


def _move(*, row: Contact, to_state: str, actor: str, reason: str, now: datetime) -> Contact:
    """Change a locked row's state (checked against ``TRANSITIONS``) and record it."""
    if to_state not in TRANSITIONS.get(row.state, frozenset()):
        raise InvalidTransition(
            f"contact {row.pk} is {row.state}: it cannot become {to_state}",
            fields={"state": f"{row.state} -> {to_state} is not allowed"},
        )
    from_state = row.state
    row.state = to_state
    row.state_changed_at = now
    row.reason = reason
    row.save(update_fields=["state", "state_changed_at", "reason"])
    _record(contact=row, from_state=from_state, actor=actor, reason=reason, now=now)
    return row


@transaction.atomic
def contact_transition(
    *,
    contact: Contact,
    to_state: str,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Contact:
    """Move a contact along the lifecycle (``TRANSITIONS``), recording a ContactEvent.

    Raises :class:`InvalidTransition` (409) for a move the table does not allow,
    judged on the row as it is in the database, not as the caller last saw it.
    """
    row = Contact.objects.select_for_update().get(pk=contact.pk)
    return _move(row=row, to_state=to_state, actor=actor, reason=reason, now=now or timezone.now())


@transaction.atomic
def contact_cancel(
    *, contact: Contact, actor: str, reason: str = "", now: datetime | None = None
) -> Contact:
    """Cancel a scheduled contact, or abort one in progress.

    Completed, failed, cancelled and aborted contacts raise :class:`InvalidTransition`.
    """
    row = Contact.objects.select_for_update().get(pk=contact.pk)
    target = (
        ContactState.ABORTED if row.state == ContactState.IN_PROGRESS else ContactState.CANCELLED
    )
    return _move(row=row, to_state=target, actor=actor, reason=reason, now=now or timezone.now())
