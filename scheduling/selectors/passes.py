"""Scheduling reads: passes (with live maintenance flags), jobs, what needs predicting."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet

from ops.edge.access import only_allowed
from ops.fleet import selectors as fleet_selectors
from ops.fleet.models import GroundStation, MaintenanceWindow, Spacecraft
from orbital import geometry, timescales
from scheduling import adapters
from scheduling.exceptions import InvalidRequest
from scheduling.models import JobState, Pass, PassCoverage, PredictionJob
from scheduling.selectors import get_one

# Look-angle tables are for one pass: refuse requests that would be huge.
MAX_LOOK_ANGLE_SAMPLES = 20_000


def pass_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[Pass]:
    """Passes with their spacecraft, station and orbit set, and ``in_maintenance``.

    ``in_maintenance`` is computed when read, so a maintenance window created after
    the prediction still flags the passes it overlaps.
    """
    overlapping = MaintenanceWindow.objects.filter(
        station=OuterRef("station"), starts_at__lt=OuterRef("los"), ends_at__gt=OuterRef("aos")
    )
    qs = Pass.objects.select_related("spacecraft", "station", "orbit_set").annotate(
        in_maintenance=Exists(overlapping)
    )
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


def pass_get(*, pass_id: int, allowed_spacecraft_ids: frozenset[int] | None = None) -> Pass:
    rows = pass_list(allowed_spacecraft_ids=allowed_spacecraft_ids)
    return get_one(rows, pk=pass_id, noun="pass")


def pass_look_angles(
    *, pass_: Pass, step_s: float, refraction: bool | None = None
) -> geometry.LookAngles:
    """Azimuth, elevation, range, range rate and Doppler over one pass, every ``step_s``.

    Computed from the orbit set the pass was predicted from, from AOS to LOS (both
    included), with the pass's refraction convention unless told otherwise.
    """
    start, end = timescales.unix_seconds(pass_.aos), timescales.unix_seconds(pass_.los)
    if not step_s > 0:
        raise InvalidRequest("step must be positive", fields={"step_s": "must be > 0"})
    if (end - start) / step_s + 2 > MAX_LOOK_ANGLE_SAMPLES:
        raise InvalidRequest(
            "too many samples",
            fields={"step_s": f"gives more than {MAX_LOOK_ANGLE_SAMPLES} samples for this pass"},
        )
    times = geometry.sample_times(start, end, step_s)
    return geometry.look_angles(
        adapters.orbit_of(pass_.orbit_set),
        adapters.station_of(pass_.station).site,
        times,
        refraction=pass_.refraction if refraction is None else refraction,
    )


def prediction_job_get(*, job_id: int) -> PredictionJob:
    return get_one(PredictionJob.objects.all(), pk=job_id, noun="prediction job")


def stations_fingerprint(stations: Iterable[GroundStation]) -> str:
    """Changes whenever a station is added, removed, edited or (de)activated."""
    parts = sorted(f"{s.pk}:{s.updated_at.isoformat()}:{s.active}" for s in stations)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def active_stations() -> list[GroundStation]:
    return list(GroundStation.objects.filter(active=True).order_by("pk"))


def spacecraft_pending_prediction(*, now: datetime, horizon: timedelta) -> list[Spacecraft]:
    """Active spacecraft whose stored passes are stale or run out too soon.

    Stale means: never predicted, predicted from an orbit set that is no longer the
    current one (a new TLE arrived), or against stations that changed since; too soon
    means the predictions end less than ``horizon`` minus an hour from ``now``.
    """
    fingerprint = stations_fingerprint(active_stations())
    coverage = PassCoverage.objects.filter(spacecraft=OuterRef("pk"))
    qs = (
        fleet_selectors.spacecraft_list()
        # current_orbit_set_id is an annotation the type checker cannot see.
        .filter(active=True, current_orbit_set_id__isnull=False)  # type: ignore[misc]
        .annotate(
            covered=Exists(
                coverage.filter(
                    orbit_set_id=OuterRef("current_orbit_set_id"),
                    stations_fingerprint=fingerprint,
                    horizon_end__gte=now + horizon - timedelta(hours=1),
                )
            )
        )
        .filter(covered=False)
        .order_by("pk")
    )
    return list(qs)


def refresh_in_progress(*, now: datetime) -> bool:
    """A coverage refresh queued or running, started within the last half hour."""
    return PredictionJob.objects.filter(
        updates_coverage=True,
        state__in=[JobState.QUEUED, JobState.RUNNING],
        created_at__gte=now - timedelta(minutes=30),
    ).exists()
