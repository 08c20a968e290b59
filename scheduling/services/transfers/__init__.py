"""Transfer and workload writes: submit and prepare (``submit``), workloads and the
node's job reports (``workloads``), act on them (``control``),
plan them onto contacts (``plan``), move their chunks (``delivery``: claims,
acknowledgements, whole-file checks) and the lifecycle they share (``states``).

Keyword-only and typed. The pure parts are ``scheduling.planners.transfers`` (the transfer
planner) and ``scheduling.links`` (chunk layout and checksums, the link contract, the
simulated radio). Import the public names from this package.
"""

from scheduling.services.transfers.control import (
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
from scheduling.services.transfers.plan import TransferPlanOutcome, transfer_plan_refresh
from scheduling.services.transfers.states import TRANSITIONS
from scheduling.services.transfers.submit import (
    Submitted,
    TransferSpec,
    transfer_prepare,
    transfer_submit,
)
from scheduling.services.transfers.workloads import ResultSpec, workload_report, workload_submit

__all__ = [
    "TRANSITIONS",
    "UNSET",
    "ResultSpec",
    "Submitted",
    "TransferPlanOutcome",
    "TransferSpec",
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
