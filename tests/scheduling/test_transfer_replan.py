"""A new TLE moves the passes: the contact plan is redone and the transfers follow it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduling import tasks
from scheduling.models import Contact, ContactState, Transfer, TransferState
from scheduling.services import passes as pass_services
from scheduling.services import transfers
from tests.scheduling.fleet import EPOCH, leo, leo_tle, load_tle, svalbard
from tests.scheduling.transfer_support import artefact

pytestmark = pytest.mark.django_db


def refresh(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What beat's pass refresh does, with the follow-up replan recorded, not sent."""
    sent: list[Any] = []
    monkeypatch.setattr(tasks.replan_contacts, "delay", lambda *a, **k: sent.append(a))
    job = pass_services.prediction_refresh_plan(now=EPOCH)
    assert job is not None
    for chunk in job.chunks.order_by("index"):
        tasks.predict_chunk(chunk.pk)
    return sent


def test_a_new_tle_replans_contacts_and_the_transfers_on_them(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ZENITH_TRANSFER_DIR = tmp_path / "transfers"
    monkeypatch.setattr("django.utils.timezone.now", lambda: EPOCH)
    craft = leo("leo-001", 90001)
    craft.uplink_rate_bps = 1_000_000  # 125 kB/s: a pass carries tens of MB
    craft.save()
    svalbard()
    assert refresh(monkeypatch) == [()], "a finished refresh asks for a replan"
    tasks.replan_contacts()
    before = {c.pk: (c.start, c.end) for c in Contact.objects.filter(state=ContactState.SCHEDULED)}
    assert before
    src, sha = artefact(tmp_path / "transfers", "w.bin", 6_000_000)
    t = transfers.transfer_submit(
        spacecraft=craft,
        direction="up",
        spec=transfers.TransferSpec(
            name="w.bin",
            source=src,
            sha256=sha,
            chunk_size_bytes=1 << 20,
            deadline=EPOCH + timedelta(hours=20),
        ),
        actor="scheduler",
    ).transfer
    assert t.state == TransferState.PLANNED
    old_contacts = set(t.allocations.values_list("contact_id", flat=True))
    old_eta = t.eta
    assert old_contacts <= set(before)

    # A fresh orbit determination: 40 degrees further along the orbit (~15 min earlier).
    load_tle(craft, *leo_tle(90001, epoch=EPOCH + timedelta(minutes=1), anomaly=40.0))
    assert refresh(monkeypatch) == [()]
    outcome = tasks.replan_contacts()
    assert outcome["removed"] >= 1 and outcome["added"] >= 1
    for pk in before:
        c = Contact.objects.get(pk=pk)
        assert c.state == ContactState.CANCELLED, c
        assert "pass no longer predicted" in c.reason or "retimed" in c.reason, c.reason
    t.refresh_from_db()
    new_contacts = set(t.allocations.values_list("contact_id", flat=True))
    assert new_contacts and not new_contacts & old_contacts, "moved onto the new contacts"
    assert t.state == TransferState.PLANNED and t.eta != old_eta and not t.deadline_risk
    assert Transfer.objects.get(pk=t.pk).planned_at == EPOCH
    for c in Contact.objects.filter(pk__in=new_contacts):
        assert c.state == ContactState.SCHEDULED and c.pass_ref is not None
        assert c.pass_ref.orbit_set == craft.orbit_sets.order_by("-epoch").first()
