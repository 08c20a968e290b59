"""Transfers driven by real Celery workers over a real Redis broker.

This process plays Celery beat (it calls ``scheduling.dispatch_contacts`` every half
second, which sends due contacts to the workers' queue); the workers run the contacts
over the simulated radio, whose node storage is a folder both sides see.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from scheduling import tasks
from scheduling.models import (
    Contact,
    ContactState,
    Transfer,
    TransferChunk,
    TransferEvent,
    TransferState,
    Workload,
    WorkloadState,
)
from scheduling.services import transfers
from tests.scheduling.transfer_support import artefact, book, geo_fleet, node_file, pattern
from tests.support.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KB = 1000
LEASE_S = 3.0
Client = Callable[..., APIClient]


@pytest.fixture
def env(settings: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    queue = f"zenith-test-links-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    settings.ZENITH_SIM_DIR = tmp_path / "sim"
    settings.ZENITH_MIN_CONTACT_S = 1.0
    settings.ZENITH_CONTACT_LEASE_S = LEASE_S
    settings.ZENITH_LINK_QUEUE = queue
    settings.ZENITH_DISPATCH_LEAD_S = 5.0
    worker_env = {
        "ZENITH_TRANSFER_DIR": str(tmp_path / "transfers"),
        "ZENITH_SIM_DIR": str(tmp_path / "sim"),
        "ZENITH_MIN_CONTACT_S": "1",
        "ZENITH_CONTACT_LEASE_S": str(LEASE_S),
        "ZENITH_VAR_DIR": str(tmp_path / "var"),
    }
    now = timezone.now().replace(microsecond=0)
    hub, stations = geo_fleet(
        start=now - timedelta(minutes=1),
        hours=1,
        uplink_rate_bps=800_000,
        downlink_rate_bps=1_600_000,
    )
    workers: list[Worker] = []

    def start(name: str, **link: Any) -> Worker:
        options = {"storage_dir": str(tmp_path / "sim"), **link}
        w = Worker(queue, name, {**worker_env, "ZENITH_LINK_OPTIONS": json.dumps(options)})
        workers.append(w)
        w.wait_ready()
        return w

    yield {
        "hub": hub,
        "stations": stations,
        "root": tmp_path / "transfers",
        "sim": tmp_path / "sim",
        "start": start,
    }
    for w in workers:
        w.stop()


def beat_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Dispatch contacts every half second (as Celery beat would) until ``done``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        tasks.dispatch_contacts()
        time.sleep(0.5)


def test_a_workload_goes_up_runs_and_comes_down_over_two_stations(
    env: dict[str, Any], client_with_token: Client
) -> None:
    # The radio corrupts the first transmission of one chunk each way.
    env["start"]("w1", corrupt=[["model.bin", 3, 1], ["out/preds.bin", 0, 1]])
    hub, (a, b) = env["hub"], env["stations"]
    now = timezone.now()
    first = book(hub, a, now + timedelta(seconds=2), 3, now)
    second = book(hub, b, now + timedelta(seconds=6), 8, now)
    src, sha = artefact(env["root"], "model.bin", 400 * KB)  # 8 chunks: 4 s at 100 kB/s
    workload, _, _ = transfers.workload_submit(
        spacecraft=hub,
        name="finetune",
        job={"cmd": ["train"]},
        uploads=[
            transfers.TransferSpec(
                name="model.bin",
                kind="model_weights",
                source=src,
                sha256=sha,
                chunk_size_bytes=50 * KB,
            )
        ],
        actor="scheduler",
    )
    beat_until(
        lambda: Workload.objects.get(pk=workload.pk).state == WorkloadState.STAGED,
        30,
        "the upload to complete",
    )
    up = Transfer.objects.get(workload=workload, direction="up")
    carriers = dict(
        TransferChunk.objects.filter(transfer=up).values_list("contact_id").annotate(n=Count("id"))
    )
    assert set(carriers) == {first.pk, second.pk}, "cut at the first LOS, resumed at the second"
    node = env["sim"] / "geo-hub" / "inbox" / "model.bin"
    assert hashlib.sha256(node.read_bytes()).hexdigest() == sha
    assert up.retransmissions == 1 and TransferChunk.objects.get(transfer=up, index=3).attempts == 2
    # The node runs the job and reports its result (through a gateway).
    result_sha = node_file(env["sim"], "geo-hub", "out/preds.bin", 200 * KB)
    gateway = client_with_token("ingest")
    report = gateway.post(
        f"/api/v1/workloads/{workload.pk}/report",
        {
            "state": "succeeded",
            "results": [{"name": "out/preds.bin", "size_bytes": 200 * KB, "sha256": result_sha}],
        },
        format="json",
    )
    assert report.status_code == 200 and report.json()["state"] == "downlinking"
    beat_until(
        lambda: Workload.objects.get(pk=workload.pk).state == WorkloadState.COMPLETED,
        20,
        "the result to come down",
    )
    down = Transfer.objects.get(workload=workload, direction="down")
    assert down.state == TransferState.COMPLETED and down.retransmissions == 1
    (retry,) = TransferEvent.objects.filter(transfer=down, kind="retransmit")
    assert "chunk 0 attempt 1: frame failed its checksum" in retry.detail
    body = client_with_token("schedule").get(f"/api/v1/workloads/{workload.pk}").json()
    assert body["upload_progress"] == 1.0 and body["downlink_progress"] == 1.0
    assert [e["to_state"] for e in body["events"]] == [
        "queued",
        "uploading",
        "staged",
        "downlinking",
        "completed",
    ]
    stored = env["root"] / "incoming" / down.stored_path
    assert stored.read_bytes() == pattern(200 * KB, seed=2)
    beat_until(
        lambda: Contact.objects.filter(pk=second.pk, state=ContactState.COMPLETED).exists(),
        15,
        "the second contact to close at LOS",
    )
    for c in (first, second):
        c.refresh_from_db()
        assert c.state == ContactState.COMPLETED and c.runner.startswith("w1-")


def test_a_worker_killed_mid_transfer_loses_nothing_and_the_file_completes_once(
    env: dict[str, Any],
) -> None:
    worker = env["start"]("doomed")
    hub, (a, _) = env["hub"], env["stations"]
    now = timezone.now()
    contact = book(hub, a, now + timedelta(seconds=2), 30, now)
    src, sha = artefact(env["root"], "dataset.bin", 1500 * KB)  # 30 chunks: 15 s
    t = transfers.transfer_submit(
        spacecraft=hub,
        direction="up",
        spec=transfers.TransferSpec(
            name="dataset.bin", kind="dataset", source=src, sha256=sha, chunk_size_bytes=50 * KB
        ),
        actor="scheduler",
    ).transfer
    beat_until(lambda: Transfer.objects.get(pk=t.pk).chunks_done >= 5, 30, "chunks to move")
    worker.kill()
    killed_at = timezone.now()
    at_kill = Transfer.objects.get(pk=t.pk)
    assert at_kill.state == TransferState.IN_PROGRESS and at_kill.chunks_done < at_kill.chunk_count
    env["start"]("rescuer")
    beat_until(
        lambda: Transfer.objects.get(pk=t.pk).state == TransferState.COMPLETED,
        45,
        "the rescuer to finish the file",
    )
    t.refresh_from_db()
    chunks = list(TransferChunk.objects.filter(transfer=t))
    assert all(c.acked_at is not None for c in chunks)
    assert sum(c.size for c in chunks) == t.size_bytes == t.bytes_done
    assert t.chunks_done == t.chunk_count == 30
    completed = TransferEvent.objects.filter(
        transfer=t, kind="state", to_state=TransferState.COMPLETED
    )
    assert completed.count() == 1, "the file completes once"
    node = env["sim"] / "geo-hub" / "inbox" / "dataset.bin"
    assert node.read_bytes() == pattern(1500 * KB, seed=1)
    contact.refresh_from_db()
    assert contact.run_token >= 2 and contact.runner.startswith("rescuer-")
    resumed = [c for c in chunks if c.acked_at > killed_at]
    assert resumed, "the rescuer moved the rest"
    assert max(c.attempts for c in chunks) <= 2, "at most the chunk on the air went twice"
    beat_until(
        lambda: Contact.objects.get(pk=contact.pk).state == ContactState.COMPLETED,
        25,
        "the contact to close at LOS",
    )


def test_cancel_in_flight_through_the_api_while_a_worker_moves_the_file(
    env: dict[str, Any], client_with_token: Client
) -> None:
    env["start"]("w2")
    hub, (a, _) = env["hub"], env["stations"]
    now = timezone.now()
    contact = book(hub, a, now + timedelta(seconds=2), 10, now)
    src, sha = artefact(env["root"], "wrong.bin", 2000 * KB)
    t = transfers.transfer_submit(
        spacecraft=hub,
        direction="up",
        spec=transfers.TransferSpec(
            name="wrong.bin", source=src, sha256=sha, chunk_size_bytes=50 * KB
        ),
        actor="scheduler",
    ).transfer
    beat_until(lambda: Transfer.objects.get(pk=t.pk).chunks_done >= 3, 30, "chunks to move")
    r = client_with_token("schedule").post(
        f"/api/v1/transfers/{t.pk}/cancel", {"reason": "wrong file"}, format="json"
    )
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    cancelled_at = timezone.now()
    beat_until(
        lambda: Contact.objects.get(pk=contact.pk).state == ContactState.COMPLETED,
        25,
        "the contact to close at LOS",
    )
    t.refresh_from_db()
    assert t.state == TransferState.CANCELLED and t.chunks_done < t.chunk_count
    assert TransferChunk.objects.filter(transfer=t, acked_at__gt=cancelled_at).count() <= 1
    assert not (env["sim"] / "geo-hub" / "inbox" / "wrong.bin").exists(), "never completed"
    contact.refresh_from_db()
    assert contact.link_stats["up_chunks_acked"] == t.chunks_done
