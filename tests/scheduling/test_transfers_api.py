"""Transfers through the API: submit (checked, idempotent), plan, act on them, scopes.

The fleet is a GEO hub always in view of two stations, so contacts can be booked
anywhere in the window; the clock is fixed at the fleet's epoch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from scheduling.models import (
    Transfer,
    TransferAllocation,
    TransferChunk,
    TransferState,
    Workload,
)
from scheduling.services import replan, transfers
from tests import factories
from tests.scheduling.fleet import EPOCH
from tests.scheduling.transfer_support import artefact, book, geo_fleet, pattern

pytestmark = pytest.mark.django_db

Client = Callable[..., APIClient]
MB = 1_000_000


@pytest.fixture
def env(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    settings.ZENITH_SIM_DIR = tmp_path / "sim"
    monkeypatch.setattr("django.utils.timezone.now", lambda: EPOCH)
    # 8 Mbit/s up = 1 MB/s, 32 Mbit/s down = 4 MB/s.
    hub, stations = geo_fleet(start=EPOCH, uplink_rate_bps=8_000_000, downlink_rate_bps=32_000_000)
    return {"hub": hub, "stations": stations, "root": tmp_path / "transfers"}


def submit(api: APIClient, **body: Any) -> Any:
    values = {"spacecraft": "geo-hub", "direction": "up", "kind": "model_weights"}
    values.update(body)
    return api.post("/api/v1/transfers", values, format="json")


def test_an_upload_is_hashed_per_chunk_and_planned_onto_contacts(
    env: dict[str, Any], client_with_token: Client
) -> None:
    hub, (a, b) = env["hub"], env["stations"]
    book(hub, a, EPOCH + timedelta(minutes=10), 120, EPOCH)
    book(hub, b, EPOCH + timedelta(minutes=30), 120, EPOCH)
    source, sha = artefact(env["root"], "weights/llama.bin", 3 * MB + 5)
    api = client_with_token("schedule")
    r = submit(
        api,
        name="models/llama.bin",
        source=source,
        sha256=sha,
        chunk_size_bytes=1 << 20,
        priority=8,
        deadline=(EPOCH + timedelta(hours=1)).isoformat(),
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["size_bytes"], body["chunk_count"], body["prepared"]) == (3 * MB + 5, 3, True)
    assert body["state"] == "planned" and body["progress"] == 0.0 and body["created_by"]
    assert not body["deadline_risk"] and body["eta"] is not None
    data = pattern(3 * MB + 5)
    rows = TransferChunk.objects.filter(transfer_id=body["id"]).order_by("index")
    assert [(c.offset, c.size) for c in rows] == [
        (0, 1 << 20),
        (1 << 20, 1 << 20),
        (2 << 20, 3 * MB + 5 - (2 << 20)),
    ]
    for c in rows:
        assert c.sha256 == hashlib.sha256(data[c.offset : c.offset + c.size]).hexdigest()
    # 1 MB/s up, 120 s per contact: all three chunks fit the first one.
    (alloc,) = body["allocations"]
    assert alloc["station"] == "under-geo-1" and alloc["chunk_count"] == 3
    assert alloc["planned_bytes"] == 3 * MB + 5
    assert body["eta"].startswith("2026-11-24T12:10:03")
    assert [e["to_state"] for e in body["events"] if e["kind"] == "state"] == ["queued", "planned"]
    listed = api.get("/api/v1/transfers", {"state": "planned", "spacecraft": "geo-hub"}).json()
    assert [t["id"] for t in listed["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha256": "0" * 64}, "sha256"),
        ({"sha256": "NOTHEX"}, "sha256"),
        ({"source": "missing.bin"}, "source"),
        ({"source": "../../etc/passwd"}, "source"),
        ({"source": ""}, "source"),
        ({"name": "../escape.bin"}, "name"),
        ({"name": "/abs.bin"}, "name"),
        ({"priority": 11}, "priority"),
        ({"deadline": "2026-11-24T11:00:00Z"}, "deadline"),
        ({"size_bytes": 7}, "size_bytes"),
        ({"chunk_size_bytes": 100}, "chunk_size_bytes"),
        ({"direction": "sideways"}, "direction"),
        ({"spacecraft": "nope"}, "spacecraft"),
        ({"direction": "down", "source": ""}, "size_bytes"),
    ],
)
def test_a_bad_submission_names_its_field_and_stores_nothing(
    env: dict[str, Any], client_with_token: Client, change: dict[str, Any], field: str
) -> None:
    source, sha = artefact(env["root"], "a.bin", 5000)
    body = {"name": "a.bin", "source": source, "sha256": sha}
    body.update(change)
    r = submit(client_with_token("schedule"), **body)
    assert r.status_code == 400, r.json()
    assert field in r.json()["fields"], r.json()
    assert r.json()["error"] == "invalid"
    assert Transfer.objects.count() == 0 and TransferChunk.objects.count() == 0


def test_a_resubmission_with_the_same_client_ref_is_a_replay(
    env: dict[str, Any], client_with_token: Client
) -> None:
    api = client_with_token("schedule")
    source, sha = artefact(env["root"], "a.bin", 5000)
    first = submit(api, name="a.bin", source=source, sha256=sha, client_ref="job-42/a")
    again = submit(api, name="a.bin", source=source, sha256=sha, client_ref="job-42/a")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Transfer.objects.count() == 1
    other, other_sha = artefact(env["root"], "b.bin", 6000, seed=5)
    clash = submit(api, name="b.bin", source=other, sha256=other_sha, client_ref="job-42/a")
    assert clash.status_code == 409 and clash.json()["error"] == "replay_conflict"
    assert "client_ref" in clash.json()["fields"] and Transfer.objects.count() == 1


def test_a_large_upload_is_hashed_by_the_prepare_step(
    env: dict[str, Any],
    settings: Any,
    client_with_token: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.ZENITH_INLINE_HASH_BYTES = 10_000
    source, sha = artefact(env["root"], "big.bin", 50_000)
    api = client_with_token("schedule")
    assert submit(api, name="big.bin", source=source).status_code == 400  # sha256 required
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = submit(api, name="big.bin", source=source, sha256=sha, chunk_size_bytes=8192)
    assert r.status_code == 201 and not r.json()["prepared"]
    queued = [c for c in callbacks if getattr(c, "func", None) is not None]
    assert [c.func.__self__.name for c in queued] == ["scheduling.prepare_transfer"]
    t = transfers.transfer_prepare(transfer_id=r.json()["id"])
    assert t.prepared and t.prepare_progress == 1.0 and t.state != TransferState.FAILED
    data = pattern(50_000)
    assert [c.sha256 for c in t.chunks.order_by("index")] == [
        hashlib.sha256(data[i : i + 8192]).hexdigest() for i in range(0, 50_000, 8192)
    ]
    # A declared checksum the file does not have fails the transfer, saying why.
    wrong = submit(api, name="big2.bin", source=source, sha256="ab" * 32).json()
    failed = transfers.transfer_prepare(transfer_id=wrong["id"])
    assert failed.state == TransferState.FAILED and f"source SHA-256 is {sha}" in failed.error


def test_pause_resume_reprioritise_and_cancel(
    env: dict[str, Any], client_with_token: Client
) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    book(hub, a, EPOCH + timedelta(minutes=10), 120, EPOCH)
    api = client_with_token("operate")
    source, sha = artefact(env["root"], "a.bin", 5000)
    tid = submit(api, name="a.bin", source=source, sha256=sha).json()["id"]
    url = f"/api/v1/transfers/{tid}"
    paused = api.post(f"{url}/pause", {"reason": "node busy"}, format="json").json()
    assert paused["state"] == "paused" and paused["allocations"] == []
    assert api.post(f"{url}/pause", {}, format="json").status_code == 409
    resumed = api.post(f"{url}/resume", {}, format="json").json()
    assert resumed["state"] == "planned" and len(resumed["allocations"]) == 1
    bad = api.post(f"{url}/reprioritise", {"priority": 0}, format="json")
    assert bad.status_code == 400 and "priority" in bad.json()["fields"]
    deadline = (EPOCH + timedelta(minutes=5)).isoformat()
    changed = api.post(f"{url}/reprioritise", {"priority": 9, "deadline": deadline}, format="json")
    body = changed.json()
    assert body["priority"] == 9 and body["deadline_risk"], "no contact before 12:05"
    assert body["plan_note"].startswith("ETA ") and "after the deadline" in body["plan_note"]
    assert any(e["kind"] == "reprioritise" for e in body["events"])
    cancelled = api.post(f"{url}/cancel", {"reason": "superseded"}, format="json").json()
    assert cancelled["state"] == "cancelled" and cancelled["allocations"] == []
    again = api.post(f"{url}/cancel", {}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"


def test_scopes_and_spacecraft_restrictions(env: dict[str, Any], client_with_token: Client) -> None:
    source, sha = artefact(env["root"], "a.bin", 5000)
    tid = submit(client_with_token("schedule"), name="a.bin", source=source, sha256=sha).json()[
        "id"
    ]
    assert client_with_token("ingest").get("/api/v1/transfers").status_code == 403
    assert APIClient().get("/api/v1/transfers").status_code == 401
    elsewhere = factories.make_spacecraft("leo-9", norad_id=90009)
    narrow = client_with_token("schedule", spacecraft=[elsewhere])
    assert narrow.get(f"/api/v1/transfers/{tid}").status_code == 404
    r = submit(narrow, name="b.bin", source=source, sha256=sha)
    assert r.status_code == 400 and "spacecraft" in r.json()["fields"]


def test_a_workload_is_all_or_nothing(env: dict[str, Any], client_with_token: Client) -> None:
    good, good_sha = artefact(env["root"], "w.bin", 4000)
    spec, spec_sha = artefact(env["root"], "job.json", 300, seed=3)
    api = client_with_token("schedule")
    body = {
        "spacecraft": "geo-hub",
        "name": "finetune-7",
        "job": {"image": "zenith/train:1", "gpus": 2},
        "priority": 7,
        "uploads": [
            {"name": "w.bin", "kind": "model_weights", "source": good, "sha256": good_sha},
            {"name": "job.json", "kind": "job_spec", "source": spec, "sha256": "1" * 64},
        ],
    }
    r = api.post("/api/v1/workloads", body, format="json")
    assert r.status_code == 400 and "uploads[1].sha256" in r.json()["fields"], r.json()
    assert Workload.objects.count() == 0 and Transfer.objects.count() == 0
    body["uploads"][1]["sha256"] = spec_sha  # type: ignore[index]
    r = api.post("/api/v1/workloads", body, format="json")
    assert r.status_code == 201, r.json()
    w = r.json()
    assert w["state"] == "queued" and len(w["transfers"]) == 2 and w["upload_progress"] == 0.0
    assert {t["priority"] for t in w["transfers"]} == {7}, "uploads inherit the priority"
    assert w["job"] == {"image": "zenith/train:1", "gpus": 2}


def test_job_reports_create_result_downlinks_once(
    env: dict[str, Any], client_with_token: Client
) -> None:
    api = client_with_token("schedule")
    w = api.post(
        "/api/v1/workloads", {"spacecraft": "geo-hub", "name": "inference"}, format="json"
    ).json()
    assert w["state"] == "staged", "nothing to upload: the job may start"
    url = f"/api/v1/workloads/{w['id']}/report"
    gateway = client_with_token("ingest")
    assert gateway.post(url, {"state": "running"}, format="json").json()["state"] == "running"
    results = [
        {"name": "out/logits.npy", "size_bytes": 2_000_000, "sha256": "a" * 64},
        {"name": "out/log.txt", "size_bytes": 900, "sha256": "b" * 64, "kind": "other"},
    ]
    done = gateway.post(url, {"state": "succeeded", "results": results}, format="json").json()
    assert done["state"] == "downlinking"
    downs = [t for t in done["transfers"] if t["direction"] == "down"]
    assert sorted(t["name"] for t in downs) == ["out/log.txt", "out/logits.npy"]
    again = gateway.post(url, {"state": "succeeded", "results": results}, format="json")
    assert again.status_code == 200 and Transfer.objects.filter(direction="down").count() == 2
    results[0]["sha256"] = "c" * 64
    clash = gateway.post(url, {"state": "succeeded", "results": results}, format="json")
    assert clash.status_code == 409 and "results[0]" in clash.json()["fields"]
    bad = gateway.post(url, {"state": "exploded"}, format="json")
    assert bad.status_code == 400 and "state" in bad.json()["fields"]


def test_workload_actions_reach_its_transfers(
    env: dict[str, Any], client_with_token: Client
) -> None:
    src, sha = artefact(env["root"], "w.bin", 4000)
    api = client_with_token("schedule")
    w = api.post(
        "/api/v1/workloads",
        {
            "spacecraft": "geo-hub",
            "name": "w",
            "uploads": [{"name": "w.bin", "source": src, "sha256": sha}],
        },
        format="json",
    ).json()
    url = f"/api/v1/workloads/{w['id']}"
    paused = api.post(f"{url}/pause", {}, format="json").json()
    assert paused["paused"] and paused["transfers"][0]["state"] == "paused"
    resumed = api.post(f"{url}/resume", {}, format="json").json()
    assert not resumed["paused"] and resumed["transfers"][0]["state"] == "queued"
    moved = api.post(f"{url}/reprioritise", {"priority": 10}, format="json").json()
    assert moved["priority"] == 10 and moved["transfers"][0]["priority"] == 10
    gone = api.post(f"{url}/cancel", {"reason": "no longer needed"}, format="json").json()
    assert gone["state"] == "cancelled" and gone["transfers"][0]["state"] == "cancelled"
    assert api.post(f"{url}/cancel", {}, format="json").status_code == 409


def test_deadline_ordering_and_risk_over_the_contact_plan(
    env: dict[str, Any], client_with_token: Client
) -> None:
    hub, (a, b) = env["hub"], env["stations"]
    book(hub, a, EPOCH + timedelta(minutes=10), 60, EPOCH)  # 60 MB up
    book(hub, b, EPOCH + timedelta(minutes=40), 60, EPOCH)
    api = client_with_token("schedule")
    ids = {}
    for name, size, minutes in [("late.bin", 40, 90), ("soon.bin", 40, 20), ("never.bin", 30, 15)]:
        src, sha = artefact(env["root"], name, size * MB, seed=len(name))
        deadline = (EPOCH + timedelta(minutes=minutes)).isoformat()
        r = submit(
            api, name=name, source=src, sha256=sha, deadline=deadline, chunk_size_bytes=1 << 20
        )
        ids[name] = r.json()["id"]
    got = {n: api.get(f"/api/v1/transfers/{i}").json() for n, i in ids.items()}
    # "never" (deadline 12:15, 30 MB) and "soon" (12:20, 40 MB) cannot both fit the first
    # contact: same priority, so the earlier deadline is admitted first and "soon" waits.
    assert got["never.bin"]["plan_rank"] == 0 and not got["never.bin"]["deadline_risk"]
    assert got["soon.bin"]["deadline_risk"]
    assert got["late.bin"]["eta"] < (EPOCH + timedelta(minutes=90)).isoformat().replace(
        "+00:00", "Z"
    )
    assert not got["late.bin"]["deadline_risk"]


def test_a_replan_serves_the_transfer_queue(env: dict[str, Any], client_with_token: Client) -> None:
    api = client_with_token("schedule")
    src, sha = artefact(env["root"], "w.bin", 2 * MB)
    deadline = EPOCH + timedelta(minutes=50)
    tid = submit(api, name="w.bin", source=src, sha256=sha, deadline=deadline.isoformat()).json()[
        "id"
    ]
    assert Transfer.objects.get(pk=tid).state == TransferState.QUEUED, "no contact yet"
    replan.plan_refresh(
        window_start=EPOCH,
        window_end=EPOCH + timedelta(hours=1),
        freeze_s=0,
        budget_s=2.0,
        now=EPOCH,
    )
    t = Transfer.objects.get(pk=tid)
    assert t.state == TransferState.PLANNED and t.eta is not None and t.eta <= deadline
    assert not t.deadline_risk and TransferAllocation.objects.filter(transfer=t).exists()


def test_job_reports_wait_for_the_uploads_and_cancelled_results_fail_the_workload(
    env: dict[str, Any], client_with_token: Client, django_capture_on_commit_callbacks: Any
) -> None:
    src, sha = artefact(env["root"], "w.bin", 4000)
    api = client_with_token("schedule")
    body = {
        "spacecraft": "geo-hub",
        "name": "w",
        "uploads": [{"name": "w.bin", "source": src, "sha256": sha}],
    }
    queued = api.post("/api/v1/workloads", body, format="json").json()
    early = api.post(
        f"/api/v1/workloads/{queued['id']}/report", {"state": "running"}, format="json"
    )
    assert early.status_code == 409 and "state" in early.json()["fields"]
    staged = api.post(
        "/api/v1/workloads", {"spacecraft": "geo-hub", "name": "s"}, format="json"
    ).json()
    results = [{"name": "out/a.bin", "size_bytes": 10, "sha256": "a" * 64}]
    url = f"/api/v1/workloads/{staged['id']}"
    api.post(f"{url}/report", {"state": "succeeded", "results": results}, format="json")
    (down,) = Transfer.objects.filter(workload_id=staged["id"])
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/transfers/{down.pk}/cancel", {}, format="json")
    after = api.get(url).json()
    assert after["state"] == "failed" and "cancelled" in after["detail"]


def test_listing_workloads_costs_the_same_queries_for_one_or_many(
    env: dict[str, Any], client_with_token: Client
) -> None:
    api = client_with_token("schedule")

    def add(n: int) -> None:
        for i in range(n):
            src, sha = artefact(env["root"], f"f{n}-{i}.bin", 5000, seed=n * 10 + i)
            api.post(
                "/api/v1/workloads",
                {
                    "spacecraft": "geo-hub",
                    "name": f"w{n}-{i}",
                    "uploads": [
                        {"name": "a.bin", "source": src, "sha256": sha},
                    ],
                },
                format="json",
            )

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert api.get("/api/v1/workloads").status_code == 200
    add(4)
    with CaptureQueriesContext(connection) as five:
        assert len(api.get("/api/v1/workloads").json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_an_overlong_source_is_a_400(env: dict[str, Any], client_with_token: Client) -> None:
    r = submit(client_with_token("schedule"), name="a.bin", source="x/" * 600 + "a.bin")
    assert r.status_code == 400 and "source" in r.json()["fields"]
