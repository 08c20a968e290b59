"""Contact execution: dispatching due contacts (``dispatch``), who runs one (``leases``)
and running it from AOS to LOS over a link driver (``runner``)."""

from scheduling.services.execution.dispatch import DispatchOutcome, contact_dispatch_due
from scheduling.services.execution.runner import (
    RunOutcome,
    contact_run,
    contact_runs_hand_back,
    driver_from_settings,
)

__all__ = [
    "DispatchOutcome",
    "RunOutcome",
    "contact_dispatch_due",
    "contact_run",
    "contact_runs_hand_back",
    "driver_from_settings",
]
