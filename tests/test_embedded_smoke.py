"""The README's run command, end to end: start it, use it, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.tcpproxy import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_embedded_run_command_serves_console_and_api(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    }
    env.update({"ZENITH_VAR_DIR": str(tmp_path), "ZENITH_PORT": str(port)})
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        ["bash", "scripts/run-embedded.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                login = httpx.get(f"{base}/accounts/login/", timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"run command did not serve (exit {process.poll()}):\n{log.read()}")
                time.sleep(0.5)
        assert login.status_code == 200 and "Sign in to Zenith" in login.text
        schema = httpx.get(f"{base}/api/schema/", timeout=10)
        assert (
            schema.status_code == 200
            and "openapi:" in schema.text
            and "/api/v1/spacecraft" in schema.text
        )

        with httpx.Client(base_url=base, timeout=10) as browser:
            page = browser.get("/accounts/login/")
            csrf = browser.cookies["csrftoken"]
            signed_in = browser.post(
                "/accounts/login/",
                data={
                    "username": "operator",
                    "password": "zenith-demo",
                    "csrfmiddlewaretoken": csrf,
                },
                headers={"Referer": f"{base}/accounts/login/"},
                follow_redirects=True,
            )
            assert page.status_code == 200
            assert (
                signed_in.status_code == 200
                and "leo-001" in signed_in.text
                and "svalbard" in signed_in.text
            )
            # The demo's workloads move: the GEO hub is always in view, so a contact
            # runs at once and its uploads go up over the simulated radio.
            deadline = time.monotonic() + 120
            while True:
                listed = browser.get("/api/v1/transfers", params={"spacecraft": "geo-hub-1"})
                assert listed.status_code == 200, listed.text
                rows = listed.json()["results"]
                if rows and all(r["state"] == "completed" for r in rows):
                    break
                assert time.monotonic() < deadline, f"demo uploads did not complete: {rows}"
                time.sleep(1)
            assert {r["name"] for r in rows} == {"weights/base.safetensors", "job.json"}
            workloads = browser.get("/api/v1/workloads", params={"spacecraft": "geo-hub-1"})
            assert workloads.json()["results"][0]["state"] == "staged"
        health = httpx.get(f"{base}/healthz", timeout=10).json()
        assert health["status"] == "ok" and health["checks"]["database"]["ok"] is True
        log.seek(0)
        assert "operator / zenith-demo" in log.read()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert (tmp_path / "zenith.sqlite3").exists()
