"""manage.py predict_passes / update_eop, the Celery tasks, and a real worker running a chunk."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from orbital import timescales
from scheduling import tasks
from scheduling.models import JobState, Pass, PredictionJob
from scheduling.services import passes as pass_services
from tests import factories
from tests.orbital.test_timescales import finals_row
from tests.scheduling.fleet import EPOCH, leo, leo_tle, load_tle, svalbard

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("predict_passes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_predict_passes_command(monkeypatch: pytest.MonkeyPatch) -> None:
    leo("leo-001", 90001)
    svalbard()
    drawn: list[float] = []
    real_update = tqdm.update

    def update(self: tqdm, n: float = 1) -> bool | None:  # type: ignore[type-arg]
        drawn.append(n)
        return real_update(self, n)

    monkeypatch.setattr(tqdm, "update", update)
    out, err = run("--now", EPOCH.isoformat(), "--hours", "12")
    assert "passes stored for 1 spacecraft" in out and err == ""
    assert sum(drawn) == pytest.approx(100.0), "the bar (stderr, when a terminal) reaches 100%"
    job = PredictionJob.objects.get()
    assert job.state == JobState.SUCCEEDED and job.passes_stored == Pass.objects.count() > 0


@pytest.mark.django_db
def test_predict_passes_exits_non_zero_when_a_spacecraft_fails() -> None:
    leo("leo-001", 90001)
    factories.make_spacecraft("bare", norad_id=91000)
    svalbard()
    with pytest.raises(CommandError, match="could not be predicted"):
        run(
            "--spacecraft",
            "leo-001",
            "--spacecraft",
            "bare",
            "--now",
            EPOCH.isoformat(),
            "--no-progress",
        )
    with pytest.raises(CommandError, match="unknown spacecraft"):
        run("--spacecraft", "nope")
    with pytest.raises(CommandError, match="orbit set"):
        run("--spacecraft", "bare")


@pytest.mark.django_db
def test_predict_passes_can_queue_the_job(
    django_capture_on_commit_callbacks: object,
) -> None:
    leo("leo-001", 90001)
    svalbard()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
        out, _ = run("--queue", "--now", EPOCH.isoformat())
    assert "queued prediction job" in out and len(callbacks) == 1
    assert PredictionJob.objects.get().state == JobState.QUEUED


def test_update_eop_from_an_iers_file(tmp_path: Path) -> None:
    finals = tmp_path / "finals2000A.all"
    finals.write_text("\n".join(finals_row(60_000 + k, 0.05 - 0.001 * k) for k in range(10)))
    output = tmp_path / "eop.npz"
    out = io.StringIO()
    call_command("update_eop", "--finals", str(finals), "--output", str(output), stdout=out)
    table = timescales.load(output)
    assert len(table.mjd_utc) == 10 and table.ut1_minus_utc_s[0] == pytest.approx(0.05)
    assert "UT1-UTC" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("update_eop", "--finals", str(tmp_path / "missing"), "--output", str(output))


def test_refresh_is_registered_on_beat() -> None:
    from zenith.celery import app

    entry = app.conf.beat_schedule["scheduling.refresh_passes"]
    assert entry["task"] == "scheduling.refresh_passes" and entry["schedule"] == 300.0
    assert tasks.predict_chunk.name == "scheduling.predict_chunk"
    assert tasks.predict_chunk.acks_late and tasks.predict_chunk.time_limit


@pytest.mark.django_db
def test_refresh_task_plans_a_job_and_sends_its_chunks(
    django_capture_on_commit_callbacks: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    leo("leo-001", 90001)
    svalbard()
    monkeypatch.setattr("django.utils.timezone.now", lambda: EPOCH)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
        job_id = tasks.refresh_passes()
    assert job_id == PredictionJob.objects.get().pk and len(callbacks) == 1
    assert tasks.refresh_passes() is None, "the refresh in flight is not doubled"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_prediction_chunk() -> None:
    # The worker predicts from the real "now": give it a fresh TLE and a window ahead.
    now = timezone.now().replace(microsecond=0)
    craft = factories.make_spacecraft("leo-001", norad_id=90001)
    load_tle(craft, *leo_tle(90001, epoch=now))
    svalbard()
    job = pass_services.prediction_job_create(
        spacecraft=[craft], start=now, end=now + timedelta(hours=12), now=now
    )
    # The worker is another process: point it at the test database, on its own queue.
    settings = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )
    queue = f"zenith-test-sched-{os.getpid()}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "zenith",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-Q",
            queue,
            "-n",
            f"sched-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        chunk = job.chunks.get()
        result = tasks.predict_chunk.apply_async(args=[chunk.pk], queue=queue)
        outcome = result.get(timeout=120)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    job.refresh_from_db()
    assert outcome["state"] == JobState.SUCCEEDED and job.state == JobState.SUCCEEDED
    assert job.progress == 1.0 and job.passes_stored == Pass.objects.count() > 3
