"""The store protocol: what ingest writes and what the selectors read, per backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class Batch:
    """Validated samples in columns: one entry per (time, node, metric, value).

    ``touched`` holds the (node_id, minute) pairs the batch writes to, gathered per
    sample by the ingest (cheaper than per value) so rollups know what to redo.
    """

    times: list[datetime] = field(default_factory=list)
    node_ids: list[int] = field(default_factory=list)
    metric_ids: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    touched: set[tuple[int, datetime]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """``fresh``: the rows this write stored, when some were already there (a replay or an
    overlap); ``None`` when every row of the batch was new."""

    written: int
    duplicates: int
    fresh: Batch | None = None

    def new_rows(self, batch: Batch) -> Batch:
        return batch if self.fresh is None else self.fresh


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of a series. An empty bucket (a gap) has ``count == 0`` and ``None`` stats."""

    start: datetime
    count: int
    min: float | None
    max: float | None
    avg: float | None
    last: float | None
    rate_per_s: float | None = None  # counters only: increase / bucket length, resets handled


@dataclass(frozen=True, slots=True)
class RawPoint:
    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class LatestValue:
    node_id: int
    metric_id: int
    time: datetime
    value: float


class TelemetryStore(Protocol):
    name: str

    def write(self, batch: Batch) -> WriteResult: ...

    def raw(
        self, *, node_id: int, metric_id: int, start: datetime, end: datetime, limit: int
    ) -> list[RawPoint]: ...

    def buckets(
        self,
        *,
        node_id: int,
        metric_id: int,
        start: datetime,
        end: datetime,
        bucket_s: int,
        counter: bool,
    ) -> list[Bucket]: ...

    def latest_for_node(self, *, node_id: int) -> list[LatestValue]: ...

    def latest_for_metric(self, *, metric_id: int, node_ids: list[int]) -> list[LatestValue]: ...

    def rollup(self, *, max_buckets: int) -> dict[str, int]: ...

    def apply_retention(
        self, *, raw_older_than: datetime, rollup_1m_older_than: datetime
    ) -> dict[str, int]: ...
