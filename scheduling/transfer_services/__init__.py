"""Transfer and workload writes: submit, prepare, act on them, plan them, run contacts.

Keyword-only and typed, like the other service modules. The pure parts are
``scheduling.transfers`` (the transfer planner, chunk layout and checksums) and
``scheduling.links`` (the link driver contract and the simulated radio).

Layout: ``_common`` (paths, the lifecycle, event records, workload state),
``_submit`` (transfers, workloads, preparing uploads, the node's job reports),
``_control`` (cancel, pause, resume, reprioritise), ``_plan`` (the transfer plan),
``_chunks`` (claims, acknowledgements, whole-file checks) and ``_runner`` (dispatching
and running contacts). Import the public names from this package.
"""

from scheduling.transfer_services._common import TRANSITIONS, incoming_dir, outgoing_dir
from scheduling.transfer_services._control import (
    UNSET,
    transfer_cancel,
    transfer_pause,
    transfer_reprioritise,
    transfer_resume,
    workload_cancel,
    workload_pause,
    workload_reprioritise,
    workload_resume,
)
from scheduling.transfer_services._plan import TransferPlanOutcome, transfer_plan_refresh
from scheduling.transfer_services._runner import (
    DispatchOutcome,
    RunOutcome,
    contact_dispatch_due,
    contact_run,
    contact_runs_hand_back,
    driver_from_settings,
)
from scheduling.transfer_services._submit import (
    ResultSpec,
    Submitted,
    TransferSpec,
    transfer_prepare,
    transfer_submit,
    workload_report,
    workload_submit,
)

__all__ = [
    "TRANSITIONS",
    "UNSET",
    "DispatchOutcome",
    "ResultSpec",
    "RunOutcome",
    "Submitted",
    "TransferPlanOutcome",
    "TransferSpec",
    "contact_dispatch_due",
    "contact_run",
    "contact_runs_hand_back",
    "driver_from_settings",
    "incoming_dir",
    "outgoing_dir",
    "transfer_cancel",
    "transfer_pause",
    "transfer_plan_refresh",
    "transfer_prepare",
    "transfer_reprioritise",
    "transfer_resume",
    "transfer_submit",
    "workload_cancel",
    "workload_pause",
    "workload_report",
    "workload_reprioritise",
    "workload_resume",
    "workload_submit",
]
