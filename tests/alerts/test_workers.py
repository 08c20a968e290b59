"""Notifications through real Celery worker processes (Redis broker, the test database):
a crossing is delivered within the configured time (the ingest wakes a worker; no beat
runs here), two workers send each notification exactly once, and a worker SIGKILLed after
claiming a delivery loses nothing."""

from __future__ import annotations

import collections
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from ops.alerts.models import Channel, Delivery
from ops.alerts.services import lifecycle
from tests.alerts.conftest import ingest, make_rule
from tests.alerts.receivers import Webhook
from tests.support.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hook() -> Iterator[Webhook]:
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def workers(settings: Any, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    queue = f"zenith-test-alerts-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.ALERTS_QUEUE = queue
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        worker = Worker(
            queue,
            name,
            {
                "ALERTS_QUEUE": queue,
                "ZENITH_VAR_DIR": str(tmp_path / "var"),
                "ALERTS_RETRY_BASE_S": "0.2",
                **env,
            },
        )
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def dispatch(queue: str, times: int = 1) -> None:
    from zenith.celery import app

    for _ in range(times):
        app.send_task("alerts.dispatch", queue=queue)


def test_a_crossing_is_delivered_within_the_configured_time(
    fleet: dict[str, Any], hook: Webhook, workers: Callable[..., Worker], settings: Any
) -> None:
    workers("w1")
    Channel.objects.create(
        name="ops", kind="webhook", url=hook.url, secret=hook.secret, is_default=True
    )
    make_rule()
    now = timezone.now()
    started = time.monotonic()
    ingest("leo-001", [(0, 91)], now=now)  # commits, then wakes a worker
    [got] = hook.wait_for(1, timeout_s=settings.ALERTS_DISPATCH_EVERY_S)
    assert got.at - started < settings.ALERTS_DISPATCH_EVERY_S
    assert got.valid and got.body["kind"] == "firing"


def test_two_workers_send_each_notification_exactly_once(
    fleet: dict[str, Any], hook: Webhook, workers: Callable[..., Worker], settings: Any
) -> None:
    workers("w1")
    workers("w2")
    hook.delay_s = 0.03  # long enough for both workers' threads to overlap
    Channel.objects.create(
        name="ops", kind="webhook", url=hook.url, secret=hook.secret, is_default=True
    )
    now = timezone.now()
    for i in range(40):
        lifecycle.alert_open(
            opening=lifecycle.Opening(
                source="events",
                severity="warning",
                summary=f"hub {i}",
                started_at=now,
                spacecraft_id=fleet["geo-001"].pk,
                dedup_key=f"load-{i}",
            ),
            actor="test",
            now=now,
        )
    dispatch(settings.ALERTS_QUEUE, times=8)
    hook.wait_for(40, timeout_s=60)
    time.sleep(1.0)  # anything sent twice would arrive now
    counts = collections.Counter(r.delivery for r in hook.arrived)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert Delivery.objects.filter(state="sent").count() == 40
    assert all(d.attempts == 1 for d in Delivery.objects.all())


def test_a_worker_killed_after_claiming_loses_nothing(
    fleet: dict[str, Any], hook: Webhook, workers: Callable[..., Worker], settings: Any
) -> None:
    doomed = workers("doomed", ALERTS_CLAIM_LEASE_S="2")
    Channel.objects.create(
        name="ops", kind="webhook", url=hook.url, secret=hook.secret, is_default=True
    )
    hook.mode = "hang"  # the first send never gets an answer: the worker sits on its claim
    now = timezone.now()
    alert = lifecycle.alert_open(
        opening=lifecycle.Opening(
            source="events",
            severity="critical",
            summary="hub down",
            started_at=now,
            spacecraft_id=fleet["geo-001"].pk,
            dedup_key="kill-1",
        ),
        actor="test",
        now=now,
    )
    dispatch(settings.ALERTS_QUEUE)
    deadline = time.monotonic() + 30
    while not hook.arrived:
        assert time.monotonic() < deadline, doomed.output()
        time.sleep(0.05)
    claimed = Delivery.objects.get(notification__alert=alert)
    assert claimed.claimed_by and claimed.state == "pending"
    doomed.kill()
    hook.mode = "ok"
    hook.release.set()
    workers("heir", ALERTS_CLAIM_LEASE_S="2")
    deadline = time.monotonic() + 30
    while not hook.answered:
        assert time.monotonic() < deadline, "the claim was never taken over"
        dispatch(settings.ALERTS_QUEUE)
        time.sleep(0.5)
    claimed.refresh_from_db()
    assert claimed.state == "sent" and claimed.attempts == 2
    assert [r.delivery for r in hook.arrived] == [claimed.pk, claimed.pk]
    assert hook.answered[0].valid
    assert claimed.claimed_until is None
    assert claimed.sent_at is not None and claimed.sent_at > now + timedelta(seconds=1)
