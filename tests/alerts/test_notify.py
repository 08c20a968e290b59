"""Notifications in one process, at controlled times: signed webhooks, retries with
backoff until a receiver comes back, dead letters, e-mail to a real SMTP server,
escalation step by step until an ack, shelve expiry, suppression by maintenance and
planned LOS, and who is on call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ops.alerts.models import (
    AuditEntry,
    Channel,
    Delivery,
    EscalationPolicy,
    EscalationStep,
    Notification,
)
from ops.alerts.selectors.notify import outbox_health
from ops.alerts.services import delivery, escalation, lifecycle, oncall
from ops.fleet.models import MaintenanceWindow
from scheduling.models import Contact
from tests.alerts.conftest import alerts_of, at, ingest, make_rule
from tests.alerts.receivers import SmtpServer, Webhook, free_port
from tests.factories import make_station, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook() -> Iterator[Webhook]:
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def quick(settings: Any) -> Any:
    settings.ALERTS_RETRY_BASE_S = 10.0
    settings.ALERTS_RETRY_MAX_S = 60.0
    settings.ALERTS_EMAIL_PORT = free_port()  # nothing listens: refused at once
    return settings


def channel(name: str, receiver: Webhook, *, default: bool = True) -> Channel:
    return Channel.objects.create(
        name=name, kind="webhook", url=receiver.url, secret=receiver.secret, is_default=default
    )


def run(now: datetime) -> dict[str, int]:
    return delivery.dispatch(worker="test-worker", clock=lambda: now, budget_s=20)


def test_a_crossing_reaches_a_signed_webhook_and_the_delivery_log(
    fleet: dict[str, Any], hook: Webhook, quick: Any
) -> None:
    channel("ops", hook)
    make_rule(runbook_url="https://runbooks.example/gpu")
    ingest("leo-001", [(0, 91)])
    [alert] = alerts_of("gpu-hot")
    assert run(at(2))["sent"] == 1
    [got] = hook.answered
    assert got.valid and got.body["kind"] == "firing"
    assert got.body["alert"]["id"] == alert.pk and got.body["alert"]["spacecraft"] == "leo-001"
    assert "runbooks.example" in got.body["text"]
    sent = Delivery.objects.get()
    assert got.delivery == sent.pk and sent.state == "sent"
    assert [(a.number, a.ok, a.status_code) for a in sent.log.all()] == [(1, True, 200)]
    assert run(at(3))["sent"] == 0  # sent once: nothing left to claim
    assert AuditEntry.objects.filter(alert_id=alert.pk, action="notification.sent").count() == 1


def test_a_receiver_that_is_down_gets_it_signed_after_it_comes_back(
    fleet: dict[str, Any], hook: Webhook, quick: Any
) -> None:
    channel("ops", hook)
    make_rule()
    ingest("leo-001", [(0, 91)])
    hook.mode = "down"
    now = at(2)
    run(now)
    [pending] = Delivery.objects.all()
    assert pending.state == "pending" and pending.attempts == 1
    first_wait = (pending.next_attempt_at - now).total_seconds()
    assert 0 < first_wait <= 10.0
    assert run(now)["sent"] + run(now)["failed"] == 0  # not due yet: backing off
    for _ in range(3):
        pending.refresh_from_db()
        now = pending.next_attempt_at
        run(now)
    pending.refresh_from_db()
    assert pending.attempts == 4 and pending.state == "pending"
    hook.mode = "ok"
    run(pending.next_attempt_at)
    pending.refresh_from_db()
    assert pending.state == "sent"
    [got] = hook.answered
    assert got.valid and got.delivery == pending.pk
    assert {r.delivery for r in hook.arrived} == {pending.pk}  # one id across every try
    log = list(pending.log.values_list("ok", "status_code"))
    assert log == [(False, 503)] * 4 + [(True, 200)]


def test_dead_letters_are_visible_and_can_be_retried(
    fleet: dict[str, Any], hook: Webhook, quick: Any, client_with_token: Callable[..., APIClient]
) -> None:
    quick.ALERTS_MAX_ATTEMPTS = 2
    channel("ops", hook)
    make_rule()
    ingest("leo-001", [(0, 91)])
    hook.mode = "down"
    run(at(2))
    run(Delivery.objects.get().next_attempt_at)
    dead = Delivery.objects.get()
    assert dead.state == "dead" and "503" in dead.last_error
    api = client_with_token("operate")
    listed = api.get("/api/v1/alerts/deliveries", {"state": "dead"}).json()
    assert [d["id"] for d in listed["results"]] == [dead.pk]
    assert len(listed["results"][0]["log"]) == 2
    hook.mode = "ok"
    assert api.post(f"/api/v1/alerts/deliveries/{dead.pk}/retry").status_code == 200
    run(timezone.now())
    dead.refresh_from_db()
    assert dead.state == "sent" and hook.answered[0].valid


def test_email_reaches_a_real_smtp_server(
    fleet: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    smtp = SmtpServer(tmp_path)
    try:
        settings.ALERTS_EMAIL_HOST, settings.ALERTS_EMAIL_PORT = "127.0.0.1", smtp.port
        settings.ALERTS_EMAIL_FROM = "zenith@example.org"
        Channel.objects.create(
            name="mail", kind="email", emails=["oncall@example.org"], is_default=True
        )
        make_rule(levels=[{"severity": "critical", "high": 80.0}])
        ingest("leo-001", [(0, 95)])
        assert run(at(2))["sent"] == 1
        [message] = smtp.messages()
        assert message["To"] == "oncall@example.org" and message["From"] == "zenith@example.org"
        assert message["Subject"].startswith("[CRITICAL] FIRING")
        assert "leo-001" in message.get_payload()
    finally:
        smtp.stop()


def _policy(first: Webhook, second: Webhook) -> EscalationPolicy:
    make_user("alice", "oncall").__class__.objects.filter(username="alice").update(
        email="alice@example.org"
    )
    schedule = oncall.schedule_create(name="primary", time_zone="UTC", actor="test")
    oncall.rotation_add(
        schedule=schedule,
        name="week",
        participants=["alice"],
        start_date=date(2020, 1, 6),
        handoff_time=time(9),
        shift_days=7,
        actor="test",
    )
    policy = EscalationPolicy.objects.create(name="gpu", repeat=1)
    EscalationStep.objects.create(
        policy=policy, order=0, wait_min=5, channel=channel("first", first, default=False)
    )
    EscalationStep.objects.create(
        policy=policy,
        order=1,
        wait_min=10,
        schedule=schedule,
        channel=channel("second", second, default=False),
    )
    return policy


def test_an_unacked_alert_escalates_step_by_step_and_an_ack_stops_it(
    fleet: dict[str, Any], quick: Any
) -> None:
    first, second = Webhook().start(), Webhook().start()
    try:
        policy = _policy(first, second)
        make_rule(escalation_policy=policy)
        t0 = at(10)
        ingest("leo-001", [(0, 91)], now=t0)
        run(t0)
        assert [r.body["kind"] for r in first.answered] == ["firing"] and not second.answered
        assert escalation.escalation_tick(now=t0 + timedelta(minutes=4))["escalated"] == 0
        assert escalation.escalation_tick(now=t0 + timedelta(minutes=5))["escalated"] == 1
        run(t0 + timedelta(minutes=5))
        assert [(r.body["kind"], r.body["step"]) for r in second.answered] == [("escalation", 1)]
        emails = Delivery.objects.filter(transport="email").values_list("target", flat=True)
        assert list(emails) == ["alice@example.org"]  # the step's schedule: who is on call
        # Second round (repeat=1): back to the first step after the second step's wait.
        assert escalation.escalation_tick(now=t0 + timedelta(minutes=14))["escalated"] == 0
        escalation.escalation_tick(now=t0 + timedelta(minutes=15))
        run(t0 + timedelta(minutes=15))
        assert [r.body["kind"] for r in first.answered] == ["firing", "escalation"]
        [alert] = alerts_of("gpu-hot")
        lifecycle.alert_ack(
            alert_id=alert.pk, actor="alice", comment="mine", now=t0 + timedelta(minutes=16)
        )
        for minutes in (20, 40, 120):
            assert escalation.escalation_tick(now=t0 + timedelta(minutes=minutes)) == {
                "shelves_expired": 0,
                "escalated": 0,
            }
            run(t0 + timedelta(minutes=minutes))
        assert len(first.answered) == 2 and len(second.answered) == 1
    finally:
        first.stop()
        second.stop()


def test_a_shelve_expiry_notifies_again(fleet: dict[str, Any], hook: Webhook, quick: Any) -> None:
    channel("ops", hook)
    make_rule()
    t0 = at(10)
    ingest("leo-001", [(0, 91)], now=t0)
    [alert] = alerts_of("gpu-hot")
    lifecycle.alert_shelve(
        alert_id=alert.pk,
        until=t0 + timedelta(hours=1),
        actor="bob",
        comment="noisy while we fix it",
        now=t0,
    )
    run(t0)
    assert hook.answered == []  # shelved before it went out: suppressed, kept
    assert Notification.objects.get(alert=alert, kind="firing").suppressed.startswith("shelved")
    assert escalation.escalation_tick(now=t0 + timedelta(minutes=59))["shelves_expired"] == 0
    assert escalation.escalation_tick(now=t0 + timedelta(hours=1))["shelves_expired"] == 1
    run(t0 + timedelta(hours=1))
    assert [r.body["kind"] for r in hook.answered] == ["shelve_expired"]
    alert.refresh_from_db()
    assert alert.shelved_until is None
    assert AuditEntry.objects.filter(
        alert_id=alert.pk, action="alert.shelve_expired", actor="clock"
    ).exists()


def test_maintenance_and_planned_los_suppress_but_keep_the_record(
    fleet: dict[str, Any], hook: Webhook, quick: Any
) -> None:
    channel("ops", hook)
    station = make_station("svalbard")
    now = timezone.now().replace(microsecond=0)
    # An alert about a spacecraft whose current contact is with a station in maintenance.
    Contact.objects.create(
        spacecraft=fleet["leo-001"],
        station=station,
        start=now - timedelta(minutes=2),
        end=now + timedelta(minutes=8),
        state_changed_at=now,
        state="in_progress",
    )
    MaintenanceWindow.objects.create(
        station=station,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="feed swap",
    )
    make_rule()
    ingest("leo-001", [(0, 91)])
    run(now)
    [alert] = alerts_of("gpu-hot")
    firing = Notification.objects.get(alert=alert)
    assert firing.suppressed == "maintenance at svalbard" and hook.answered == []
    # A silence-type alert (an external "node down") about a LEO node out of contact.
    lost = lifecycle.alert_open(
        opening=lifecycle.Opening(
            source="events",
            severity="warning",
            summary="node down",
            started_at=now,
            spacecraft_id=fleet["leo-002"].pk,
            dedup_key="ext-1",
        ),
        actor="test",
        now=now,
    )
    run(now)
    assert Notification.objects.get(alert=lost).suppressed.startswith("planned loss of signal")
    assert hook.answered == []
    assert (
        AuditEntry.objects.filter(
            action="notification.suppressed", alert_id__in=[alert.pk, lost.pk]
        ).count()
        == 2
    )
    # The same about a GEO hub (always in view) does page.
    geo = lifecycle.alert_open(
        opening=lifecycle.Opening(
            source="events",
            severity="warning",
            summary="hub down",
            started_at=now,
            spacecraft_id=fleet["geo-001"].pk,
            dedup_key="ext-2",
        ),
        actor="test",
        now=now,
    )
    run(now)
    assert [r.body["alert"]["id"] for r in hook.answered] == [geo.pk]


def test_who_is_on_call_rotations_in_their_time_zone_and_overrides(
    db: Any, client_with_token: Callable[..., APIClient]
) -> None:
    schedule = oncall.schedule_create(name="paris", time_zone="Europe/Paris", actor="t")
    oncall.rotation_add(
        schedule=schedule,
        name="daily",
        participants=["ann", "ben", "cat"],
        start_date=date(2026, 3, 27),
        handoff_time=time(9),
        shift_days=1,
        actor="t",
    )
    api = client_with_token("operate")

    def who(when: str) -> dict[str, Any]:
        return api.get("/api/v1/alerts/oncall", {"at": when}).json()[0]

    assert who("2026-03-27T07:59:00Z")["username"] is None  # 08:59 Paris: not begun
    assert who("2026-03-27T08:00:00Z")["username"] == "ann"  # 09:00 CET
    assert who("2026-03-28T08:00:00Z")["username"] == "ben"
    # DST starts on 29 March: the 09:00 handoff is now at 07:00 UTC.
    assert who("2026-03-29T06:59:00Z")["username"] == "ben"
    assert who("2026-03-29T07:00:00Z")["username"] == "cat"
    assert who("2026-03-30T07:00:00Z")["username"] == "ann"
    oncall.override_add(
        schedule=schedule,
        username="dan",
        starts_at=datetime.fromisoformat("2026-03-30T12:00:00+00:00"),
        ends_at=datetime.fromisoformat("2026-03-30T18:00:00+00:00"),
        actor="t",
        reason="ann at the dentist",
    )
    assert who("2026-03-30T13:00:00Z")["username"] == "dan"
    assert who("2026-03-30T13:00:00Z")["via"] == "override"
    assert who("2026-03-30T18:00:00Z")["username"] == "ann"
    now = api.get("/api/v1/alerts/oncall").json()
    assert now[0]["schedule"] == "paris" and now[0]["username"] in {"ann", "ben", "cat"}


@pytest.mark.django_db(transaction=True)
def test_the_health_check_says_when_no_worker_keeps_up(fleet: dict[str, Any]) -> None:
    make_rule()
    ingest("leo-001", [(0, 91)], now=timezone.now())
    assert outbox_health()["ok"] is True
    Notification.objects.update(due_at=timezone.now() - timedelta(minutes=10))
    health = outbox_health()
    assert health["ok"] is False and health["outbox_waiting"] == 1
    run(timezone.now())
    assert outbox_health()["ok"] is True
