"""The replan orchestrator: contacts first, then the transfers onto them.

Contacts and transfers never import each other: the contact plan takes the transfer
queue as its demand (read here and passed in), and once its diff is applied the
transfers are replanned onto the new contacts, so every ETA and deadline-risk flag
follows the new plan. Beat, the API, ``manage.py plan_contacts`` and the pass refresh
all replan through ``plan_refresh``.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from scheduling.selectors.transfers import transfer_demand
from scheduling.services.contact_plan import (
    DEFAULT_BUDGET_S,
    DEFAULT_FREEZE_S,
    PLANNER_ACTOR,
    Progress,
    ReplanOutcome,
    contact_plan_refresh,
)
from scheduling.services.transfers.plan import transfer_plan_refresh


def plan_refresh(
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    freeze_s: float = DEFAULT_FREEZE_S,
    budget_s: float = DEFAULT_BUDGET_S,
    actor: str = PLANNER_ACTOR,
    now: datetime | None = None,
    progress: Progress | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> ReplanOutcome:
    """Replan the contacts of the window (``contact_plan_refresh``, with the open
    transfers as demand), then every transfer onto the result."""
    now = now or timezone.now()
    outcome = contact_plan_refresh(
        window_start=window_start,
        window_end=window_end,
        freeze_s=freeze_s,
        budget_s=budget_s,
        actor=actor,
        now=now,
        progress=progress,
        demand=transfer_demand,
        allowed_spacecraft_ids=allowed_spacecraft_ids,
    )
    transfer_plan_refresh(now=now, actor=actor)
    return outcome
