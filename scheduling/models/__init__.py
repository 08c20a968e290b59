"""Scheduling rows: passes and predictions, contacts, workloads and transfers."""

from scheduling.models.contacts import ACTIVE_CONTACT_STATES, Contact, ContactEvent, ContactState
from scheduling.models.passes import JobState, Pass, PassCoverage, PredictionChunk, PredictionJob
from scheduling.models.transfers import (
    MOVABLE_TRANSFER_STATES,
    OPEN_TRANSFER_STATES,
    TERMINAL_WORKLOAD_STATES,
    Transfer,
    TransferAllocation,
    TransferChunk,
    TransferDirection,
    TransferEvent,
    TransferKind,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)

__all__ = [
    "ACTIVE_CONTACT_STATES",
    "MOVABLE_TRANSFER_STATES",
    "OPEN_TRANSFER_STATES",
    "TERMINAL_WORKLOAD_STATES",
    "Contact",
    "ContactEvent",
    "ContactState",
    "JobState",
    "Pass",
    "PassCoverage",
    "PredictionChunk",
    "PredictionJob",
    "Transfer",
    "TransferAllocation",
    "TransferChunk",
    "TransferDirection",
    "TransferEvent",
    "TransferKind",
    "TransferState",
    "Workload",
    "WorkloadEvent",
    "WorkloadState",
]
