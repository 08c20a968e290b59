"""The real services the suite runs against: PostgreSQL + TimescaleDB, Redis, a Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_database_is_postgresql_with_timescaledb() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        row = cursor.fetchone()
    if os.environ.get("ZENITH_REQUIRE_TIMESCALEDB") == "1":
        assert row is not None, "TimescaleDB is not enabled in the test database"
        assert row[0].startswith("2.")


def test_real_celery_worker_runs_a_task(tmp_path: Path) -> None:
    from zenith.celery import app, ping

    env = dict(os.environ)
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
            "zenith-test-ping",
            "-n",
            f"pingtest-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        result = ping.apply_async(args=["abc"], queue="zenith-test-ping")
        assert result.get(timeout=60) == "pong:abc"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert app.conf.task_acks_late is True
