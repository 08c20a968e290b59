"""Inputs and outputs of the contact planner: frozen dataclasses, times in POSIX seconds."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

Key = Hashable
Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class CandidatePass:
    """A predicted pass a contact may use (all of it or a sub-interval)."""

    spacecraft: Key
    station: Key
    aos_s: float
    los_s: float
    max_elevation_deg: float = 90.0
    aos_clipped: bool = False
    los_clipped: bool = False


@dataclass(frozen=True, slots=True)
class SpacecraftSpec:
    key: Key
    priority: int = 5  # 1 (lowest) .. 10 (highest)
    radios: int = 1
    uplink_rate_bps: float = 50_000_000.0
    downlink_rate_bps: float = 200_000_000.0


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A ground station. ``allow`` (when not None) lists the only spacecraft it may serve;
    ``deny`` lists spacecraft it never serves. ``maintenance`` holds (start_s, end_s)."""

    key: Key
    antennas: int = 1
    uplink_rate_bps: float = 50_000_000.0
    downlink_rate_bps: float = 200_000_000.0
    setup_s: float = 60.0
    turnaround_s: float = 120.0
    maintenance: tuple[tuple[float, float], ...] = ()
    allow: frozenset[Key] | None = None
    deny: frozenset[Key] = frozenset()

    def serves(self, spacecraft: Key) -> bool:
        if spacecraft in self.deny:
            return False
        return self.allow is None or spacecraft in self.allow


@dataclass(frozen=True, slots=True)
class Transfer:
    """Bytes waiting to go up to (or come down from) a spacecraft by ``deadline_s``."""

    key: Key
    spacecraft: Key
    size_bytes: float
    deadline_s: float
    priority: int = 5  # 1 .. 10
    direction: Direction = "down"


@dataclass(frozen=True, slots=True)
class Contact:
    """A booked contact. Capacities are rate x usable duration per direction, the rate being
    the lower of the spacecraft's and the station's."""

    spacecraft: Key
    station: Key
    antenna: int
    start_s: float
    end_s: float
    uplink_bytes: float
    downlink_bytes: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def capacity_bytes(self) -> float:
        return self.uplink_bytes + self.downlink_bytes

    def same_booking(self, other: Contact, tolerance_s: float = 0.5) -> bool:
        return (
            self.spacecraft == other.spacecraft
            and self.station == other.station
            and abs(self.start_s - other.start_s) <= tolerance_s
            and abs(self.end_s - other.end_s) <= tolerance_s
        )


@dataclass(frozen=True)
class PlanRequest:
    """Everything one planning run needs.

    New contacts lie inside ``[max(window_start_s, now_s + freeze_s), window_end_s]``.
    Contacts of ``previous`` that are in progress at ``now_s`` or start before
    ``now_s + freeze_s`` are kept exactly as they are (even if they now break a rule).
    """

    passes: tuple[CandidatePass, ...]
    spacecraft: tuple[SpacecraftSpec, ...]
    stations: tuple[StationSpec, ...]
    transfers: tuple[Transfer, ...]
    window_start_s: float
    window_end_s: float
    min_duration_s: float = 60.0
    now_s: float | None = None
    freeze_s: float = 0.0
    previous: tuple[Contact, ...] = ()
    time_budget_s: float = 5.0
    # Above this many candidate windows the whole-problem CP-SAT model is not attempted:
    # the value greedy builds the plan and CP-SAT improves it window by window.
    max_exact_candidates: int = 400
    seed: int = 0


@dataclass(frozen=True, slots=True)
class PlanScore:
    delivered_bytes: float  # demand bytes delivered before their deadlines
    weighted_bytes: float  # the same, x spacecraft priority x transfer priority
    missed_deadlines: int  # transfers not complete by their deadline
    excess_bytes: float  # capacity beyond the waiting demand


@dataclass(frozen=True, slots=True)
class DiffEntry:
    action: Literal["added", "removed", "kept"]
    contact: Contact
    reason: str


@dataclass(frozen=True)
class PlanResult:
    contacts: tuple[Contact, ...]
    diff: tuple[DiffEntry, ...]
    method: str  # "cp-sat optimal", "cp-sat feasible", "greedy+cp-sat lns", "greedy fallback"
    score: PlanScore
    stats: dict[str, float] = field(default_factory=dict)
