"""A real Celery worker process for tests: the test database, its own queue, Redis broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


class Worker:
    """``celery -A zenith worker`` on ``queue`` with the environment given (plus the test
    database). ``pool`` "threads" runs several contacts at once."""

    def __init__(self, queue: str, name: str, env: dict[str, str], pool: str = "threads") -> None:
        self.queue = queue
        full = dict(os.environ)
        full.update(env)
        full["DATABASE_URL"] = database_url()
        self.log_path = Path(env.get("ZENITH_VAR_DIR", "/tmp")) / f"worker-{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "zenith",
                "worker",
                f"--pool={pool}",
                "--concurrency=4",
                "--loglevel=INFO",
                "-Q",
                queue,
                "-n",
                f"{name}-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Block until the worker answers a ping on its queue."""
        from zenith.celery import ping

        result = ping.apply_async(args=["ready"], queue=self.queue)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            if result.ready():
                assert result.get() == "pong:ready"
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout_s} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the worker and its children: no cleanup, no acks, no goodbyes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]
