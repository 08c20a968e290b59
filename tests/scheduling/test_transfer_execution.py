"""Contacts run for real (wall clock, short contacts) over the simulated radio.

The runner is called in this process here; ``test_transfer_worker`` runs it in Celery
workers. The fleet: a GEO hub in view of two stations, 100 kB/s up and 200 kB/s down,
so a few seconds of contact move a few hundred kB and a file can need two contacts.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from scheduling import links
from scheduling.models import (
    Contact,
    ContactState,
    Transfer,
    TransferChunk,
    TransferEvent,
    TransferState,
)
from scheduling.services import contacts, execution, transfers
from tests.scheduling.transfer_support import artefact, book, geo_fleet, node_file, pattern

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KB = 1000
Client = Callable[..., APIClient]


@pytest.fixture
def env(settings: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    settings.ZENITH_SIM_DIR = tmp_path / "sim"
    settings.ZENITH_MIN_CONTACT_S = 1.0
    settings.ZENITH_CONTACT_LEASE_S = 3.0
    now = timezone.now().replace(microsecond=0)
    hub, stations = geo_fleet(
        start=now - timedelta(minutes=1),
        hours=1,
        uplink_rate_bps=800_000,
        downlink_rate_bps=1_600_000,
    )
    yield {
        "hub": hub,
        "stations": stations,
        "root": tmp_path / "transfers",
        "sim": tmp_path / "sim",
    }


def driver(sim: Path, **options: Any) -> links.SimulatedLinkDriver:
    return links.simulated({"storage_dir": str(sim), **options}, default_dir=sim)


def in_thread(
    contact_id: int, name: str, sim: links.SimulatedLinkDriver, result: dict[str, Any]
) -> threading.Thread:
    """Run a contact in a thread (its own database connection, closed at the end)."""

    def work() -> None:
        try:
            result["outcome"] = execution.contact_run(
                contact_id=contact_id, runner=name, driver=sim
            )
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


async def collect(stream: Any) -> bytes:
    return b"".join([block async for block in stream])


def soon(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def upload(env: dict[str, Any], name: str, size: int, chunk: int = 50 * KB, **kw: Any) -> Transfer:
    src, sha = artefact(env["root"], name, size, seed=len(name))
    return transfers.transfer_submit(
        spacecraft=env["hub"],
        direction="up",
        spec=transfers.TransferSpec(
            name=name, source=src, sha256=sha, chunk_size_bytes=chunk, **kw
        ),
        actor="test",
    ).transfer


def test_a_file_cut_by_los_resumes_on_the_next_contact_at_another_station(
    env: dict[str, Any],
) -> None:
    hub, (a, b) = env["hub"], env["stations"]
    first = book(hub, a, soon(1.5), 3, timezone.now())
    second = book(hub, b, soon(5.5), 5, timezone.now())
    t = upload(env, "weights.bin", 500 * KB)  # 10 chunks, 0.5 s each at 100 kB/s
    assert t.state == TransferState.PLANNED and t.eta is not None
    assert list(t.allocations.values_list("contact_id", flat=True)) == [first.pk, second.pk]
    sim = driver(env["sim"])
    one = execution.contact_run(contact_id=first.pk, runner="test-a", driver=sim)
    assert one.state == ContactState.COMPLETED and one.reason == "LOS"
    t.refresh_from_db()
    assert t.state in (TransferState.PLANNED, TransferState.QUEUED)
    carried_first = t.chunks_done
    assert 2 <= carried_first < t.chunk_count, "the first contact ended mid-file"
    assert t.allocations.filter(contact=second).exists(), "replanned onto the next contact"
    two = execution.contact_run(contact_id=second.pk, runner="test-b", driver=sim)
    assert two.state == ContactState.COMPLETED
    t.refresh_from_db()
    assert t.state == TransferState.COMPLETED and t.bytes_done == t.size_bytes == 500 * KB
    by_contact = dict(
        TransferChunk.objects.filter(transfer=t).values_list("contact_id").annotate(n=Count("id"))
    )
    assert by_contact == {first.pk: carried_first, second.pk: 10 - carried_first}
    node = env["sim"] / "geo-hub" / "inbox" / "weights.bin"
    assert hashlib.sha256(node.read_bytes()).hexdigest() == t.sha256
    states = [
        (e.to_state, e.contact_id)
        for e in TransferEvent.objects.filter(transfer=t, kind="state").order_by("at", "pk")
    ]
    assert (TransferState.IN_PROGRESS, first.pk) in states
    assert (TransferState.IN_PROGRESS, second.pk) in states, "resumed over the second station"
    assert states[-2:] == [
        (TransferState.VERIFYING, second.pk),
        (TransferState.COMPLETED, second.pk),
    ]
    assert t.rate_bps is not None and 300_000 < t.rate_bps <= 800_000 * 1.05
    first.refresh_from_db()
    assert first.link_stats["up_chunks_acked"] == carried_first
    assert first.events.filter(to_state=ContactState.IN_PROGRESS).exists()


def test_corrupted_chunks_are_sent_again_both_ways(
    env: dict[str, Any], client_with_token: Client
) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.5), 6, timezone.now())
    up = upload(env, "w.bin", 200 * KB)  # 4 chunks
    sha = node_file(env["sim"], "geo-hub", "out/result.bin", 300 * KB)
    down = transfers.transfer_submit(
        spacecraft=hub,
        direction="down",
        spec=transfers.TransferSpec(
            name="out/result.bin",
            kind="result",
            size_bytes=300 * KB,
            sha256=sha,
            chunk_size_bytes=100 * KB,
        ),
        actor="test",
    ).transfer
    sim = driver(env["sim"], corrupt=[["w.bin", 2, 1], ["out/result.bin", 1, 1]])
    outcome = execution.contact_run(contact_id=contact.pk, runner="t", driver=sim)
    assert outcome.state == ContactState.COMPLETED
    for t, index in ((up, 2), (down, 1)):
        t.refresh_from_db()
        assert t.state == TransferState.COMPLETED, (t, t.error)
        assert t.retransmissions == 1
        assert TransferChunk.objects.get(transfer=t, index=index).attempts == 2
        assert (
            TransferChunk.objects.filter(transfer=t).exclude(index=index).filter(attempts=1).count()
            == t.chunk_count - 1
        )
        (event,) = TransferEvent.objects.filter(transfer=t, kind="retransmit")
        assert f"chunk {index} attempt 1" in event.detail and event.contact_id == contact.pk
    assert outcome.stats["up_frames_corrupted"] == 1 and outcome.stats["down_frames_corrupted"] == 1
    node = env["sim"] / "geo-hub" / "inbox" / "w.bin"
    assert node.read_bytes() == pattern(200 * KB, seed=len("w.bin"))
    # The downlink is served from storage, checked against its SHA-256 first.
    api = client_with_token("schedule")
    r = api.get(f"/api/v1/transfers/{down.pk}/content")
    assert r.status_code == 200 and r["ETag"] == f'"{sha}"'
    assert asyncio.run(collect(r.streaming_content)) == pattern(300 * KB, seed=2)
    stored = env["root"] / "incoming" / down.stored_path if down.stored_path else None
    assert stored is not None and stored.is_file()
    stored.write_bytes(b"tampered")
    bad = api.get(f"/api/v1/transfers/{down.pk}/content")
    assert bad.status_code == 409 and bad.json()["error"] == "content_unavailable"
    assert api.get(f"/api/v1/transfers/{up.pk}/content").status_code == 409


def test_cancel_in_flight_stops_at_the_next_chunk_and_the_contact_moves_on(
    env: dict[str, Any], client_with_token: Client
) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.0), 8, timezone.now())
    big = upload(env, "big.bin", 1000 * KB, priority=9)  # 20 chunks: more than the contact
    small = upload(env, "small.bin", 100 * KB, priority=1)
    sim = driver(env["sim"])
    result: dict[str, Any] = {}
    runner = in_thread(contact.pk, "t", sim, result)
    try:
        deadline = time.monotonic() + 15
        while Transfer.objects.get(pk=big.pk).chunks_done < 3:
            assert time.monotonic() < deadline, "the big upload never started"
            time.sleep(0.05)
        r = client_with_token("operate").post(
            f"/api/v1/transfers/{big.pk}/cancel", {"reason": "wrong weights"}, format="json"
        )
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        cancelled_at = timezone.now()
        done_at_cancel = r.json()["chunks_done"]
    finally:
        runner.join(timeout=30)
    assert result["outcome"].state == ContactState.COMPLETED
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.state == TransferState.CANCELLED
    late = TransferChunk.objects.filter(transfer=big, acked_at__gt=cancelled_at).count()
    assert late <= 1, "at most the chunk already on the air lands after the cancel"
    assert big.chunks_done <= done_at_cancel + 1 < big.chunk_count
    assert small.state == TransferState.COMPLETED, "the rest of the contact went to the next one"
    assert small.started_at is not None and small.started_at >= cancelled_at


def test_an_operator_abort_ends_the_run_early(env: dict[str, Any]) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.0), 30, timezone.now())
    t = upload(env, "w.bin", 2000 * KB)
    sim = driver(env["sim"])
    result: dict[str, Any] = {}
    runner = in_thread(contact.pk, "t", sim, result)
    deadline = time.monotonic() + 15
    while Transfer.objects.get(pk=t.pk).chunks_done < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    began = time.monotonic()
    contacts.contact_cancel(contact=contact, actor="oncall", reason="antenna fault")
    runner.join(timeout=20)
    assert time.monotonic() - began < 5, "the runner noticed within a lease renewal"
    assert result["outcome"].reason == "contact aborted meanwhile"
    contact.refresh_from_db()
    t.refresh_from_db()
    assert contact.state == ContactState.ABORTED and contact.lease_until is None
    assert (
        t.state in (TransferState.QUEUED, TransferState.PLANNED)
        and 2 <= t.chunks_done < t.chunk_count
    )
    assert not TransferChunk.objects.filter(transfer=t, claim_contact=contact.pk).exists()


def test_a_second_runner_for_a_held_contact_does_nothing(env: dict[str, Any]) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.0), 3, timezone.now())
    sim = driver(env["sim"])
    result: dict[str, Any] = {}
    runner = in_thread(contact.pk, "first", sim, result)
    deadline = time.monotonic() + 5
    while not Contact.objects.get(pk=contact.pk).runner:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    twin = execution.contact_run(contact_id=contact.pk, runner="second", driver=sim)
    runner.join(timeout=20)
    assert twin.state == "skipped" and result["outcome"].state == ContactState.COMPLETED
    contact.refresh_from_db()
    assert contact.run_token == 1 and contact.runner == "first"
    again = execution.contact_run(contact_id=contact.pk, runner="late", driver=sim)
    assert again.state == "skipped", "a finished contact is not run again"


def test_dispatch_finds_due_contacts_once_and_closes_unrun_ones(env: dict[str, Any]) -> None:
    hub, (a, b) = env["hub"], env["stations"]
    now = timezone.now()
    due = book(hub, a, now + timedelta(seconds=10), 5, now)
    later = book(hub, b, now + timedelta(minutes=10), 5, now)
    first = execution.contact_dispatch_due(now=now)
    assert first.due == (due.pk,) and later.pk not in first.due
    assert execution.contact_dispatch_due(now=now).due == (), "not twice"
    # Nobody ran it: past its LOS the dispatcher fails it, saying why.
    after = now + timedelta(seconds=20)
    closed = execution.contact_dispatch_due(now=after)
    assert closed.closed == (due.pk,)
    due.refresh_from_db()
    assert due.state == ContactState.FAILED and "no runner" in due.reason


async def test_progress_reaches_console_sockets_after_commit(env: dict[str, Any]) -> None:
    from channels.db import database_sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from ops.console.routing import websocket_urlpatterns
    from tests.factories import make_user

    user = await database_sync_to_async(make_user)("olga", "operator")
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    socket.scope["user"] = user
    connected, _ = await socket.connect()
    assert connected and (await socket.receive_json_from())["type"] == "hello"
    hub, (a, _) = env["hub"], env["stations"]
    contact = await database_sync_to_async(book)(hub, a, soon(1.0), 3, timezone.now())
    t = await database_sync_to_async(upload)(env, "w.bin", 200 * KB)
    sim = driver(env["sim"])
    run = database_sync_to_async(execution.contact_run)
    outcome = await run(contact_id=contact.pk, runner="t", driver=sim)
    assert outcome.state == ContactState.COMPLETED
    seen: list[dict[str, Any]] = []
    # A receive that times out cancels the consumer: read until the contact's LOS message.
    while not any(
        m["type"] == "contact.state" and m["contact"]["state"] == "completed" for m in seen
    ):
        seen.append(await socket.receive_json_from(timeout=10))
    await socket.disconnect()
    await database_sync_to_async(connections.close_all)()
    mine = [
        m["transfer"]
        for m in seen
        if m["type"] == "transfer.progress" and m["transfer"]["id"] == t.pk
    ]
    states = [m["state"] for m in mine]
    assert states[0] == "queued" and "in_progress" in states and states[-1] == "completed"
    progress = [m["progress"] for m in mine]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(0.0 < p < 1.0 for p in progress), "progress between the state changes"
    contact_states = [m["contact"]["state"] for m in seen if m["type"] == "contact.state"]
    assert contact_states == ["in_progress", "completed"]


def test_a_worker_shutting_down_hands_its_contact_back(env: dict[str, Any]) -> None:
    from scheduling.services.execution import runner as contact_runner

    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.0), 10, timezone.now())
    t = upload(env, "w.bin", 2000 * KB)
    result: dict[str, Any] = {}
    runner = in_thread(contact.pk, "t", driver(env["sim"]), result)
    try:
        deadline = time.monotonic() + 15
        while Transfer.objects.get(pk=t.pk).chunks_done < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        execution.contact_runs_hand_back()
        runner.join(timeout=10)
    finally:
        contact_runner.SHUTDOWN.clear()
    assert not runner.is_alive() and result["outcome"].state == ContactState.IN_PROGRESS
    contact.refresh_from_db()
    assert contact.state == ContactState.IN_PROGRESS and contact.lease_until is None
    assert not TransferChunk.objects.filter(claim_contact=contact.pk).exists()
    assert execution.contact_dispatch_due().due == (contact.pk,), "another runner takes it"
    again = execution.contact_run(contact_id=contact.pk, runner="next", driver=driver(env["sim"]))
    assert again.state == ContactState.COMPLETED
    contact.refresh_from_db()
    assert contact.run_token == 2 and contact.runner == "next"


def test_outages_do_not_use_up_attempts_and_a_vanished_source_fails_only_its_transfer(
    env: dict[str, Any],
) -> None:
    hub, (a, _) = env["hub"], env["stations"]
    contact = book(hub, a, soon(1.0), 7, timezone.now())
    gone = upload(env, "gone.bin", 100 * KB, priority=9)
    kept = upload(env, "kept.bin", 200 * KB, priority=1)
    (env["root"] / "outgoing" / "gone.bin").unlink()
    # Down from 0.3 s to 3.3 s after AOS, and the first frame of kept.bin's chunk 1 lost.
    sim = driver(env["sim"], outages=[[0.3, 3.0]], drop=[["kept.bin", 1, 1]], ack_timeout_s=0.2)
    outcome = execution.contact_run(contact_id=contact.pk, runner="t", driver=sim)
    assert outcome.state == ContactState.COMPLETED, outcome.reason
    assert outcome.stats["up_link_down_calls"] >= 3
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert gone.state == TransferState.FAILED and "source file unreadable" in gone.error
    assert kept.state == TransferState.COMPLETED, kept.error
    attempts = dict(TransferChunk.objects.filter(transfer=kept).values_list("index", "attempts"))
    assert attempts[1] == 2 and max(attempts.values()) <= 2, attempts
