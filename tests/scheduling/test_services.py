"""Prediction services: storing passes, never rewriting a pass in progress, jobs, refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ops.fleet import services as fleet_services
from scheduling.exceptions import InvalidWindow, NoOrbit
from scheduling.models import JobState, Pass, PassCoverage, PredictionChunk
from scheduling.selectors import passes as pass_selectors
from scheduling.services import passes as pass_services
from tests import factories
from tests.scheduling.fleet import EPOCH, geo, leo, leo_tle, load_tle, svalbard, under_geo

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def rows(craft_slug: str) -> list[tuple[object, ...]]:
    return list(
        Pass.objects.filter(spacecraft__slug=craft_slug)
        .order_by("aos", "station_id")
        .values_list("station__slug", "aos", "los", "aos_clipped", "los_clipped", "orbit_set_id")
    )


def test_predict_stores_passes_with_their_orbit_set_and_is_idempotent() -> None:
    craft, station = leo("leo-001", 90001), svalbard()
    outcome = pass_services.pass_predict(
        spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH + DAY, now=EPOCH
    )
    stored = rows("leo-001")
    assert outcome.passes_stored == len(stored) > 8  # a polar LEO over Svalbard
    current = craft.orbit_sets.get()
    assert {r[-1] for r in stored} == {current.pk}
    assert all(a < b for _, a, b, *_ in stored)
    again = pass_services.pass_predict(
        spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH + DAY, now=EPOCH
    )
    assert again.passes_stored == outcome.passes_stored and rows("leo-001") == stored


def test_a_pass_in_progress_is_never_rewritten_by_a_new_orbit_set() -> None:
    craft, station = leo("leo-001", 90001), svalbard()
    pass_services.pass_predict(
        spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH + DAY, now=EPOCH
    )
    third = Pass.objects.filter(spacecraft=craft).order_by("aos")[2]
    now = third.aos + (third.los - third.aos) / 2
    before = {p.pk: (p.aos, p.los, p.orbit_set_id) for p in Pass.objects.filter(los__lte=now)}
    # A new TLE arrives: a different along-track position moves every future pass.
    newer = load_tle(craft, *leo_tle(90001, epoch=EPOCH + timedelta(hours=1), anomaly=3.0))
    pass_services.pass_predict(
        spacecraft=[craft], stations=[station], start=now, end=EPOCH + DAY, now=now
    )
    kept = Pass.objects.get(pk=third.pk)
    assert (kept.aos, kept.los, kept.orbit_set_id) == (third.aos, third.los, third.orbit_set_id)
    assert {p.pk: (p.aos, p.los, p.orbit_set_id) for p in Pass.objects.filter(los__lte=now)} == (
        before
    ), "past passes are history"
    future = Pass.objects.filter(spacecraft=craft, aos__gt=now)
    assert future.exists() and {p.orbit_set_id for p in future} == {newer.pk}
    assert not Pass.objects.filter(spacecraft=craft, aos__gt=now, aos__lt=kept.los).exists()


def test_geo_hub_gets_one_clipped_pass_extended_as_the_horizon_moves() -> None:
    hub, station = geo("geo-hub-1", 99900), under_geo()
    pass_services.pass_predict(
        spacecraft=[hub], stations=[station], start=EPOCH, end=EPOCH + 2 * DAY, now=EPOCH
    )
    (first,) = Pass.objects.filter(spacecraft=hub)
    assert first.aos_clipped and first.los_clipped
    assert (first.aos, first.los) == (EPOCH, EPOCH + 2 * DAY)
    later = EPOCH + DAY
    pass_services.pass_predict(
        spacecraft=[hub], stations=[station], start=later, end=later + 2 * DAY, now=later
    )
    (extended,) = Pass.objects.filter(spacecraft=hub)
    assert extended.pk == first.pk and extended.aos == EPOCH and extended.aos_clipped
    assert extended.los == later + 2 * DAY and extended.los_clipped


def test_window_validation() -> None:
    craft, station = leo("leo-001", 90001), svalbard()
    with pytest.raises(InvalidWindow):
        pass_services.pass_predict(spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH)
    with pytest.raises(InvalidWindow):
        pass_services.pass_predict(
            spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH + 30 * DAY
        )


def test_job_in_chunks_reports_progress_and_errors() -> None:
    crafts = [leo(f"leo-{k:03d}", 90000 + k, raan=40.0 * k) for k in range(1, 6)]
    bare = factories.make_spacecraft("bare", norad_id=91000)  # no orbit set
    svalbard()
    job = pass_services.prediction_job_create(
        spacecraft=[*crafts, bare], start=EPOCH, end=EPOCH + DAY, chunk_spacecraft=2, now=EPOCH
    )
    chunks = list(job.chunks.order_by("index"))
    assert [len(c.spacecraft_ids) for c in chunks] == [2, 2, 2]
    seen: list[float] = []
    pass_services.prediction_chunk_run(chunk_id=chunks[0].pk, now=EPOCH, progress=seen.append)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and 0.3 <= job.progress <= 0.34
    assert seen == sorted(seen) and seen[-1] == 1.0
    for chunk in chunks[1:]:
        pass_services.prediction_chunk_run(chunk_id=chunk.pk, now=EPOCH)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.progress == 1.0
    assert job.passes_stored == Pass.objects.count() > 0
    assert job.errors == {"bare": "no orbit set loaded"}
    # A redelivered task for a finished chunk changes nothing.
    again = pass_services.prediction_chunk_run(chunk_id=chunks[0].pk, now=EPOCH)
    assert again.state == JobState.SUCCEEDED and Pass.objects.count() == job.passes_stored


def test_a_failing_chunk_fails_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    craft = leo("leo-001", 90001)
    svalbard()
    job = pass_services.prediction_job_create(spacecraft=[craft], start=EPOCH, now=EPOCH)

    def explode(**_: object) -> None:
        raise RuntimeError("propagator on fire")

    monkeypatch.setattr(pass_services, "pass_predict", explode)
    chunk = pass_services.prediction_chunk_run(chunk_id=job.chunks.get().pk, now=EPOCH)
    job.refresh_from_db()
    assert chunk.state == job.state == JobState.FAILED
    assert "propagator on fire" in job.errors["*"]


def test_a_job_needs_a_spacecraft_with_an_orbit() -> None:
    with pytest.raises(NoOrbit):
        pass_services.prediction_job_create(
            spacecraft=[factories.make_spacecraft("bare")], now=EPOCH
        )


def test_refresh_notices_new_orbit_sets_changed_stations_and_short_horizons() -> None:
    craft, station = leo("leo-001", 90001), svalbard()
    job = pass_services.prediction_refresh_plan(now=EPOCH)
    assert job is not None and job.updates_coverage
    assert pass_services.prediction_refresh_plan(now=EPOCH) is None, "one refresh at a time"
    pass_services.prediction_chunk_run(chunk_id=job.chunks.get().pk, now=EPOCH)
    coverage = PassCoverage.objects.get(spacecraft=craft)
    assert coverage.horizon_end == EPOCH + pass_services.DEFAULT_HORIZON
    assert pass_services.prediction_refresh_plan(now=EPOCH + timedelta(minutes=5)) is None

    newer = load_tle(craft, *leo_tle(90001, epoch=EPOCH + timedelta(hours=2)))
    stale = pass_selectors.spacecraft_pending_prediction(
        now=EPOCH + timedelta(minutes=10), horizon=pass_services.DEFAULT_HORIZON
    )
    assert [c.pk for c in stale] == [craft.pk]
    job = pass_services.prediction_refresh_plan(now=EPOCH + timedelta(minutes=10))
    assert job is not None
    pass_services.prediction_chunk_run(
        chunk_id=job.chunks.get().pk, now=EPOCH + timedelta(minutes=10)
    )
    assert PassCoverage.objects.get(spacecraft=craft).orbit_set_id == newer.pk

    fleet_services.station_update(station=station, min_elevation_deg=10.0)
    assert pass_selectors.spacecraft_pending_prediction(
        now=EPOCH + timedelta(minutes=15), horizon=pass_services.DEFAULT_HORIZON
    )
    # Without changes, the horizon still has to be topped up within the hour.
    assert pass_selectors.spacecraft_pending_prediction(
        now=EPOCH + timedelta(hours=2), horizon=pass_services.DEFAULT_HORIZON
    )


def test_maintenance_flag_is_live_and_look_angles_follow_the_pass() -> None:
    craft, station = leo("leo-001", 90001), svalbard()
    pass_services.pass_predict(
        spacecraft=[craft], stations=[station], start=EPOCH, end=EPOCH + DAY, now=EPOCH
    )
    target = Pass.objects.order_by("aos")[1]
    assert not pass_selectors.pass_get(pass_id=target.pk).in_maintenance  # type: ignore[attr-defined]
    fleet_services.maintenance_window_create(
        station=station, starts_at=target.tca, ends_at=target.los + timedelta(minutes=1)
    )
    flagged = [p.pk for p in pass_selectors.pass_list() if p.in_maintenance]  # type: ignore[attr-defined]
    assert flagged == [target.pk]
    look = pass_selectors.pass_look_angles(pass_=target, step_s=15.0)
    assert look.unix_s[0] == target.aos.timestamp() and look.unix_s[-1] == target.los.timestamp()
    assert abs(look.elevation_deg[0] - station.min_elevation_deg) < 1e-3
    assert abs(look.elevation_deg.max() - target.max_elevation_deg) < 0.5
    assert set(PredictionChunk.objects.values_list("state", flat=True)) <= {JobState.SUCCEEDED}


def test_a_decayed_orbit_is_reported_once_not_retried_every_refresh() -> None:
    from tests.orbital.reference import sgp4_verification_tles

    _, line1, line2 = sgp4_verification_tles()[28872]  # decays within the hour of its epoch
    doomed = factories.make_spacecraft("minotaur-rb", norad_id=28872)
    load_tle(doomed, line1, line2)
    svalbard()
    epoch = doomed.orbit_sets.get().epoch
    job = pass_services.prediction_refresh_plan(now=epoch)
    assert job is not None
    pass_services.prediction_chunk_run(chunk_id=job.chunks.get().pk, now=epoch)
    job.refresh_from_db()
    assert "SGP4" in job.errors["minotaur-rb"] and job.state == JobState.SUCCEEDED
    later = epoch + timedelta(minutes=10)
    assert pass_selectors.spacecraft_pending_prediction(now=later, horizon=timedelta(hours=1)) == []
