"""Contact writes: replanning from stored passes, manual booking, cancel, the lifecycle.

Keyword-only and typed, like ``services.py`` (which holds the pass writes; contacts got
their own package to keep both under ~500 lines). The pure planner is
``scheduling.contacts``: this package feeds it rows and applies its diff.

Layout: ``_common`` (limits, the lock, event records), ``_conflicts`` (antenna, radio and
maintenance checks), ``_lifecycle`` (transitions, cancel), ``_booking`` (manual
booking), ``_plan`` (replanning). Import the public names from this package.

Locking: every write locks the station rows, then the spacecraft rows, in primary-key
order, so a manual booking and a replan cannot both see a free antenna or radio, and
cannot deadlock each other.
"""

from scheduling.contact_services._booking import contact_book
from scheduling.contact_services._common import (
    DEFAULT_BUDGET_S,
    DEFAULT_FREEZE_S,
    DEFAULT_WINDOW,
    MAX_BUDGET_S,
    MAX_WINDOW,
    PLANNER_ACTOR,
    Progress,
    min_contact_s,
)
from scheduling.contact_services._lifecycle import (
    TRANSITIONS,
    contact_cancel,
    contact_transition,
)
from scheduling.contact_services._plan import (
    ContactChange,
    ReplanOutcome,
    contact_plan_refresh,
)

__all__ = [
    "DEFAULT_BUDGET_S",
    "DEFAULT_FREEZE_S",
    "DEFAULT_WINDOW",
    "MAX_BUDGET_S",
    "MAX_WINDOW",
    "PLANNER_ACTOR",
    "TRANSITIONS",
    "ContactChange",
    "Progress",
    "ReplanOutcome",
    "contact_book",
    "contact_cancel",
    "contact_plan_refresh",
    "contact_transition",
    "min_contact_s",
]
