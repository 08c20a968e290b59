"""One node in depth: its newest values, contact and light now, current and next passes,
its transfers; and its metrics as series over a range, with its LOS periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from ops.console.selectors.orbits import current_orbits, shadow_now
from ops.fleet import selectors as fleet_selectors
from ops.fleet.models import Spacecraft
from orbital import groundtrack
from scheduling.exceptions import NotFound
from scheduling.models import (
    ACTIVE_CONTACT_STATES,
    OPEN_TRANSFER_STATES,
    Contact,
    ContactState,
    Pass,
    Transfer,
)
from scheduling.selectors import passes as pass_selectors
from telemetry import selectors as telemetry_selectors
from telemetry.models import Metric, MetricKind
from telemetry.stores import LatestValue

# Range presets: (key, label, span). "Live" ranges get new samples appended as they come.
RANGES: tuple[tuple[str, str, timedelta], ...] = (
    ("15m", "live 15 min", timedelta(minutes=15)),
    ("1h", "1 h", timedelta(hours=1)),
    ("6h", "6 h", timedelta(hours=6)),
    ("24h", "24 h", timedelta(hours=24)),
    ("7d", "7 days", timedelta(days=7)),
    ("30d", "30 days", timedelta(days=30)),
)
LIVE_RANGES = frozenset({"15m", "1h"})
DEFAULT_RANGE = "1h"
DEFAULT_METRICS = ("battery_soc", "gpu_temp_c", "power_in_w", "gpu_util")
MAX_METRICS = 6
# About one bucket per two pixels of a wide chart; long ranges then read the rollups.
TARGET_POINTS = 480
PASSES_SHOWN = 6


def range_key(key: str | None) -> str:
    """A known range preset (the default for anything else)."""
    for k, _label, _span in RANGES:
        if k == key:
            return k
    return DEFAULT_RANGE


def range_span(key: str) -> timedelta:
    return {k: span for k, _label, span in RANGES}[range_key(key)]


@dataclass(frozen=True, slots=True)
class NodeView:
    craft: Spacecraft
    latest: list[tuple[Metric, LatestValue]]
    metrics: list[Metric]
    contact: Contact | None
    passes: list[Pass]
    booked: dict[int, Contact]  # pass id -> its active contact
    transfers: list[Transfer]
    light: groundtrack.ShadowSchedule | None

    @property
    def last_seen(self) -> datetime | None:
        return max((v.time for _m, v in self.latest), default=None)


def node_get(*, slug: str) -> Spacecraft:
    craft = fleet_selectors.spacecraft_list().filter(slug=slug).first()
    if craft is None:
        raise NotFound(f"node {slug} does not exist")
    return craft


def node_view(*, slug: str, now: datetime) -> NodeView:
    craft = node_get(slug=slug)
    contact = (
        Contact.objects.filter(spacecraft=craft)
        .filter(
            Q(state=ContactState.IN_PROGRESS)
            | Q(state=ContactState.SCHEDULED, start__lte=now, end__gt=now)
        )
        .select_related("station")
        .first()
    )
    passes = list(
        pass_selectors.pass_list()
        .filter(spacecraft=craft, los__gt=now)
        .order_by("aos")[:PASSES_SHOWN]
    )
    booked = {
        c.pass_ref_id: c
        for c in Contact.objects.filter(
            pass_ref__in=[p.pk for p in passes], state__in=ACTIVE_CONTACT_STATES
        )
        if c.pass_ref_id is not None
    }
    transfers = list(
        Transfer.objects.filter(spacecraft=craft, state__in=OPEN_TRANSFER_STATES)
        .select_related("spacecraft")
        .order_by("plan_rank", "deadline", "-priority", "pk")
    )
    light = shadow_now(orbits=current_orbits(spacecraft=[craft]), now=now).get(craft.pk)
    return NodeView(
        craft=craft,
        latest=telemetry_selectors.latest_for_node(node=craft),
        metrics=list(telemetry_selectors.metric_list()),
        contact=contact,
        passes=passes,
        booked=booked,
        transfers=transfers,
        light=light,
    )


@dataclass(frozen=True, slots=True)
class SeriesSet:
    craft: Spacecraft
    start: datetime
    end: datetime
    range_key: str
    series: list[telemetry_selectors.Series]
    los: list[tuple[datetime, datetime]]  # out of every station's view (known passes only)


def los_periods(
    *, craft: Spacecraft, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Periods in [start, end) outside every stored pass of the node. With no pass known
    in the range, nothing is claimed (an unpredicted past is not LOS)."""
    spans = sorted(
        Pass.objects.filter(spacecraft=craft, aos__lt=end, los__gt=start).values_list("aos", "los")
    )
    if not spans:
        return []
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    for aos, los in spans:
        if aos > cursor:
            out.append((cursor, min(aos, end)))
        cursor = max(cursor, los)
        if cursor >= end:
            break
    if cursor < end:
        out.append((cursor, end))
    return out


def chosen_metrics(names: Sequence[str]) -> list[Metric]:
    """The metrics named (known ones, in the order given, at most ``MAX_METRICS``)."""
    wanted = [n for n in dict.fromkeys(names) if n][:MAX_METRICS]
    found = Metric.objects.in_bulk(wanted, field_name="name")
    return [found[n] for n in wanted if n in found]


def node_series(
    *, craft: Spacecraft, metrics: Sequence[Metric], range_key: str, now: datetime
) -> SeriesSet:
    """Each metric bucketed over the range ending now (one query per metric): gaps kept,
    whole-minute and whole-hour buckets read from the rollups."""
    span = range_span(range_key)
    start = now - span
    bucket_s = telemetry_selectors.bucket_for(start=start, end=now, target_points=TARGET_POINTS)
    series = [
        telemetry_selectors.series_buckets(
            node=craft, metric=m, start=start, end=now, bucket_s=bucket_s
        )
        for m in metrics
    ]
    return SeriesSet(
        craft=craft,
        start=start,
        end=now,
        range_key=range_key,
        series=series,
        los=los_periods(craft=craft, start=start, end=now),
    )


def is_counter(metric: Metric) -> bool:
    return metric.kind == MetricKind.COUNTER
