"""Scheduling writes: predicting and storing passes, prediction jobs and their chunks.

Keyword-only and typed. Services never import tasks: entry points (API, commands,
tasks) enqueue after commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Avg, Q, Sum
from django.utils import timezone

from ops.edge.access import check_spacecraft_allowed
from ops.edge.fields import check_window
from ops.fleet import selectors as fleet_selectors
from ops.fleet.models import GroundStation, OrbitSet, Spacecraft
from orbital import passes, timescales
from scheduling import adapters
from scheduling.exceptions import InvalidRequest, InvalidWindow, NoOrbit
from scheduling.models import JobState, Pass, PassCoverage, PredictionChunk, PredictionJob
from scheduling.selectors import passes as pass_selectors

logger = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(hours=48)
MAX_WINDOW = timedelta(days=14)
# Spacecraft per chunk task: a chunk of 250 LEO x 20 stations x 48 h is about a second
# of search and ~45k rows; several chunks let several workers share a big fleet.
CHUNK_SPACECRAFT = 250
PROGRESS_INTERVAL_S = 1.0

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class PredictionOutcome:
    passes_stored: int
    errors: dict[str, str] = field(default_factory=dict)
    predicted_spacecraft: tuple[int, ...] = ()
    orbit_sets: dict[int, int] = field(default_factory=dict)  # spacecraft -> orbit set tried


def _eop() -> timescales.EarthOrientation:
    """The bundled IERS table, or ``settings.ZENITH_EOP_FILE`` when a newer one is set."""
    return timescales.load(getattr(settings, "ZENITH_EOP_FILE", None) or None)


def _current_orbit_sets(spacecraft_ids: Sequence[int]) -> dict[int, OrbitSet]:
    annotated = fleet_selectors.spacecraft_list().filter(pk__in=spacecraft_ids)
    ids = {craft.pk: craft.current_orbit_set_id for craft in annotated}  # type: ignore[attr-defined]
    sets = OrbitSet.objects.in_bulk([i for i in ids.values() if i is not None])
    return {craft: sets[oid] for craft, oid in ids.items() if oid is not None}


def pass_predict(
    *,
    spacecraft: Sequence[Spacecraft],
    stations: Sequence[GroundStation],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    refraction: bool = False,
    progress: Progress | None = None,
) -> PredictionOutcome:
    """Predict and store the passes of ``spacecraft`` over ``stations`` in [start, end).

    Each spacecraft is predicted from its current orbit set. Anything that has
    started by ``now`` is never rewritten: stored passes from the window's start (or
    ``now``, whichever is later) to its end are replaced; a pass in progress is kept
    as predicted, except that a LOS which lay beyond the previous window (clipped) is
    filled in. Idempotent: the same call twice stores the same rows.
    """
    check_window(start, end, max_span=MAX_WINDOW, error=InvalidWindow)
    now = now or timezone.now()
    search_start = max(start, now)
    by_id = {craft.pk: craft for craft in spacecraft}
    orbit_sets = _current_orbit_sets(list(by_id))
    errors = {by_id[i].slug: "no orbit set loaded" for i in by_id if i not in orbit_sets}
    craft_ids = sorted(orbit_sets)
    if search_start >= end or not orbit_sets:
        return PredictionOutcome(0, errors)
    if not stations:  # nothing to predict, and nothing stale about it
        return PredictionOutcome(0, errors, (), {i: orbit_sets[i].pk for i in craft_ids})
    orbit_list = [adapters.orbit_of(orbit_sets[i]) for i in craft_ids]
    sites = [adapters.station_of(s) for s in stations]
    table = passes.find_passes(
        orbit_list, sites, search_start, end, refraction=refraction, eop=_eop(), progress=progress
    )
    for index, message in table.errors.items():
        errors[by_id[craft_ids[index]].slug] = message
    failed = {craft_ids[i] for i in table.errors}
    predicted = [i for i in craft_ids if i not in failed]
    station_ids = [s.pk for s in stations]
    stored = _store(table, craft_ids, station_ids, predicted, search_start, end, now, refraction)
    # Coverage records every orbit set tried, failed ones too: predicting the same
    # decayed TLE again would fail again, a new orbit set makes it stale anyway.
    return PredictionOutcome(
        stored, errors, tuple(predicted), {i: orbit_sets[i].pk for i in craft_ids}
    )


@transaction.atomic
def _store(
    table: passes.PassTable,
    craft_ids: list[int],
    station_ids: list[int],
    predicted: list[int],
    search_start: datetime,
    end: datetime,
    now: datetime,
    refraction: bool,
) -> int:
    to_dt = timescales.to_datetime
    pairs = Q(spacecraft_id__in=predicted, station_id__in=station_ids)
    # Replaced: stored passes starting inside the searched window, after now. Anything
    # that started by now is never rewritten.
    replaced = Q(aos__gte=search_start, aos__gt=now, aos__lt=end)
    # Kept rows overlapping the window's start may continue into it (clipped LOS).
    kept = {
        (p.spacecraft_id, p.station_id): p
        for p in Pass.objects.select_for_update()
        .filter(pairs, aos__lte=search_start, los__gt=search_start)
        .exclude(replaced)
    }
    Pass.objects.filter(pairs & replaced).delete()
    rows: list[Pass] = []
    extended: list[Pass] = []
    predicted_set = set(predicted)
    for row in range(len(table)):
        orbit = table.orbits[int(table.orbit_index[row])]
        craft = craft_ids[int(table.orbit_index[row])]
        if craft not in predicted_set:
            continue
        station = station_ids[int(table.station_index[row])]
        fresh = Pass(
            spacecraft_id=craft,
            station_id=station,
            orbit_set_id=int(orbit.orbit_set or 0),
            aos=to_dt(float(table.aos_s[row])),
            tca=to_dt(float(table.tca_s[row])),
            los=to_dt(float(table.los_s[row])),
            aos_clipped=bool(table.aos_clipped[row]),
            los_clipped=bool(table.los_clipped[row]),
            max_elevation_deg=float(table.max_elevation_deg[row]),
            aos_azimuth_deg=float(table.aos_azimuth_deg[row]),
            tca_azimuth_deg=float(table.tca_azimuth_deg[row]),
            los_azimuth_deg=float(table.los_azimuth_deg[row]),
            refraction=refraction,
            predicted_at=now,
        )
        old = kept.get((craft, station)) if fresh.aos_clipped else None
        if old is None:
            rows.append(fresh)
        elif old.los_clipped:  # fill in the LOS the previous window could not see
            old.los, old.los_clipped = fresh.los, fresh.los_clipped
            old.los_azimuth_deg = fresh.los_azimuth_deg
            if fresh.max_elevation_deg > old.max_elevation_deg:
                old.tca, old.max_elevation_deg = fresh.tca, fresh.max_elevation_deg
                old.tca_azimuth_deg = fresh.tca_azimuth_deg
            old.predicted_at = now
            extended.append(old)
    Pass.objects.bulk_create(rows, batch_size=2000)
    if extended:
        Pass.objects.bulk_update(
            extended,
            [
                "los",
                "los_clipped",
                "los_azimuth_deg",
                "tca",
                "max_elevation_deg",
                "tca_azimuth_deg",
                "predicted_at",
            ],
        )
    return len(rows) + len(extended)


def _coverage_update(
    outcome: PredictionOutcome, *, end: datetime, fingerprint: str, now: datetime
) -> None:
    for craft, orbit_set in outcome.orbit_sets.items():
        PassCoverage.objects.update_or_create(
            spacecraft_id=craft,
            defaults={
                "orbit_set_id": orbit_set,
                "stations_fingerprint": fingerprint,
                "horizon_end": end,
                "predicted_at": now,
            },
        )


# --- jobs ------------------------------------------------------------------------------


@transaction.atomic
def prediction_job_create(
    *,
    spacecraft: Sequence[Spacecraft],
    stations: Sequence[GroundStation] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    refraction: bool = False,
    requested_by: str = "",
    updates_coverage: bool = False,
    chunk_spacecraft: int = CHUNK_SPACECRAFT,
    now: datetime | None = None,
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> PredictionJob:
    """A queued job for these spacecraft (over ``stations``, or all active ones).

    The spacecraft are split into chunks for workers to claim. Raises
    :class:`NoOrbit` if none of them has an orbit set.
    """
    check_spacecraft_allowed(
        allowed_spacecraft_ids=allowed_spacecraft_ids, spacecraft=spacecraft, error=InvalidRequest
    )
    now = now or timezone.now()
    start = start or now
    end = end or start + DEFAULT_HORIZON
    check_window(start, end, max_span=MAX_WINDOW, error=InvalidWindow)
    if not spacecraft:
        raise InvalidRequest("no spacecraft", fields={"spacecraft": "give at least one"})
    ids = sorted({craft.pk for craft in spacecraft})
    with_orbits = _current_orbit_sets(ids)
    if not with_orbits:
        raise NoOrbit(
            "none of these spacecraft has an orbit set",
            fields={"spacecraft": "load a TLE or element set first"},
        )
    job = PredictionJob.objects.create(
        start=start,
        end=end,
        station_ids=sorted({s.pk for s in stations}),
        refraction=refraction,
        requested_by=requested_by[:150],
        updates_coverage=updates_coverage,
    )
    size = max(1, chunk_spacecraft)
    PredictionChunk.objects.bulk_create(
        PredictionChunk(job=job, index=k, spacecraft_ids=ids[first : first + size])
        for k, first in enumerate(range(0, len(ids), size))
    )
    return job


def _job_stations(job: PredictionJob) -> list[GroundStation]:
    if job.station_ids:
        return list(GroundStation.objects.filter(pk__in=job.station_ids).order_by("pk"))
    return pass_selectors.active_stations()


def prediction_chunk_run(
    *, chunk_id: int, now: datetime | None = None, progress: Progress | None = None
) -> PredictionChunk:
    """Run one chunk of a job (what a worker does), then close the job if it was the last.

    A chunk already finished is left alone (a redelivered task is harmless); one left
    running by a lost worker is run again (predictions are idempotent). Database
    outages propagate, so the task retries; any other failure fails the chunk.
    """
    now = now or timezone.now()
    claimed = PredictionChunk.objects.filter(
        pk=chunk_id, state__in=[JobState.QUEUED, JobState.RUNNING]
    ).update(state=JobState.RUNNING)
    chunk = PredictionChunk.objects.select_related("job").get(pk=chunk_id)
    if not claimed:
        return chunk
    job = chunk.job
    PredictionJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=now
    )
    last_report = [0.0]

    def report(fraction: float) -> None:
        # The search reports per sub-chunk; write at most once a second.
        if progress is not None:
            progress(fraction)
        if fraction < 1.0 and time.monotonic() - last_report[0] < PROGRESS_INTERVAL_S:
            return
        last_report[0] = time.monotonic()
        PredictionChunk.objects.filter(pk=chunk.pk).update(progress=0.9 * fraction)
        _job_progress(job.pk)

    try:
        stations = _job_stations(job)
        crafts = list(Spacecraft.objects.filter(pk__in=chunk.spacecraft_ids).order_by("pk"))
        outcome = pass_predict(
            spacecraft=crafts,
            stations=stations,
            start=job.start,
            end=job.end,
            now=now,
            refraction=job.refraction,
            progress=report,
        )
        if job.updates_coverage:
            _coverage_update(
                outcome,
                end=job.end,
                fingerprint=pass_selectors.stations_fingerprint(stations),
                now=now,
            )
        state, stored, errors = JobState.SUCCEEDED, outcome.passes_stored, outcome.errors
    except OperationalError:
        raise
    except Exception as exc:  # recorded on the job; the worker's log has the traceback
        logger.exception("prediction chunk %s failed", chunk_id)
        state, stored, errors = JobState.FAILED, 0, {"*": f"{type(exc).__name__}: {exc}"}
    PredictionChunk.objects.filter(pk=chunk.pk, state=JobState.RUNNING).update(
        state=state, progress=1.0, passes_stored=stored, errors=errors, finished_at=timezone.now()
    )
    if progress is not None:
        progress(1.0)
    _job_finish_if_done(job.pk)
    chunk.refresh_from_db()
    return chunk


def _job_progress(job_id: int) -> None:
    average = PredictionChunk.objects.filter(job_id=job_id).aggregate(p=Avg("progress"))["p"]
    PredictionJob.objects.filter(pk=job_id, state=JobState.RUNNING).update(
        progress=min(1.0, float(average or 0.0))
    )


@transaction.atomic
def _job_finish_if_done(job_id: int) -> None:
    """Close the job once every chunk has finished (whichever worker gets here last)."""
    job = PredictionJob.objects.select_for_update().get(pk=job_id)
    chunks = PredictionChunk.objects.filter(job_id=job_id)
    if job.state in (JobState.SUCCEEDED, JobState.FAILED):
        return
    if chunks.filter(~Q(state__in=[JobState.SUCCEEDED, JobState.FAILED])).exists():
        _job_progress(job_id)
        return
    errors: dict[str, str] = {}
    for chunk_errors in chunks.values_list("errors", flat=True):
        errors.update(chunk_errors or {})
    job.state = (
        JobState.FAILED if chunks.filter(state=JobState.FAILED).exists() else JobState.SUCCEEDED
    )
    job.progress = 1.0
    job.passes_stored = chunks.aggregate(n=Sum("passes_stored"))["n"] or 0
    job.errors = errors
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "progress", "passes_stored", "errors", "finished_at"])


def prediction_refresh_plan(
    *, now: datetime | None = None, horizon: timedelta = DEFAULT_HORIZON
) -> PredictionJob | None:
    """A job re-predicting every spacecraft whose passes are stale, or None.

    What the periodic refresh runs: it notices new orbit sets (ops.fleet cannot tell
    scheduling), changed stations and horizons running out. Skipped while another
    refresh is still queued or running.
    """
    now = now or timezone.now()
    if pass_selectors.refresh_in_progress(now=now):
        return None
    stale = pass_selectors.spacecraft_pending_prediction(now=now, horizon=horizon)
    if not stale:
        return None
    return prediction_job_create(
        spacecraft=stale,
        start=now,
        end=now + horizon,
        requested_by="refresh",
        updates_coverage=True,
        now=now,
    )
