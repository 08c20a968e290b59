"""Contacts: replan from stored passes, manual booking and its conflicts, cancel, lifecycle.

The fleet: two GEO hubs at the same slot (always in view of the two stations under
them, so bookings can be placed anywhere in the window, deterministically) and a LEO
over Svalbard. Stations have 1 antenna, setup 60 s, turnaround 120 s (the defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ops.fleet import services as fleet_services
from ops.fleet.models import GroundStation, Spacecraft
from scheduling.exceptions import ContactConflict, InvalidTransition
from scheduling.models import Contact, ContactEvent, ContactState, Pass
from scheduling.services import contact_plan, contacts
from scheduling.services import passes as pass_services
from scheduling.services.replan import plan_refresh
from tests.scheduling.fleet import EPOCH, geo, leo, svalbard, under_geo

pytestmark = pytest.mark.django_db

Client = Callable[..., APIClient]


def at(minutes: float) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setattr("django.utils.timezone.now", lambda: EPOCH)
    crafts = [geo("geo-a", 99900), geo("geo-b", 99901), leo("leo-001", 90001)]
    stations = [under_geo("under-geo"), under_geo("under-geo-2"), svalbard()]
    pass_services.pass_predict(
        spacecraft=crafts, stations=stations, start=EPOCH, end=EPOCH + timedelta(hours=6), now=EPOCH
    )
    return {"crafts": {c.slug: c for c in crafts}, "stations": {s.slug: s for s in stations}}


def book(api: APIClient, craft: str, station: str, start: datetime, end: datetime) -> Any:
    return api.post(
        "/api/v1/contacts",
        {
            "spacecraft": craft,
            "station": station,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
        format="json",
    )


def replan(**kwargs: object) -> contact_plan.ReplanOutcome:
    values: dict[str, object] = {
        "window_start": EPOCH,
        "window_end": at(180),
        "freeze_s": 0.0,
        "budget_s": 2.0,
        "now": EPOCH,
    }
    values.update(kwargs)
    return plan_refresh(**values)  # type: ignore[arg-type]


def assert_feasible(contacts: list[Contact]) -> None:
    """No antenna double-booked (setup and turnaround included), no radio over-used,
    every contact inside a stored pass of its spacecraft over its station."""
    for c in contacts:
        station = c.station
        assert 0 <= c.antenna < station.antennas
        assert Pass.objects.filter(
            spacecraft=c.spacecraft, station=station, aos__lte=c.start, los__gte=c.end
        ).exists(), f"{c} is outside every stored pass"
        setup, turn = timedelta(seconds=station.setup_s), timedelta(seconds=station.turnaround_s)
        for other in contacts:
            if other.pk == c.pk:
                continue
            if other.station_id == c.station_id and other.antenna == c.antenna:
                apart = other.end + turn <= c.start - setup or c.end + turn <= other.start - setup
                assert apart, f"{c} and {other} share an antenna"
            if other.spacecraft_id == c.spacecraft_id and c.spacecraft.radios == 1:
                assert other.end <= c.start or c.end <= other.start, f"{c} and {other}: radio"


# --- replanning ---------------------------------------------------------------------------


def test_replan_books_feasible_contacts_from_stored_passes(fleet: dict[str, object]) -> None:
    outcome = replan()
    assert outcome.added and not outcome.removed and not outcome.kept
    booked = list(Contact.objects.select_related("station", "spacecraft"))
    assert len(booked) == len(outcome.added)
    assert_feasible(booked)
    assert {c.spacecraft.slug for c in booked} == {"geo-a", "geo-b", "leo-001"}
    for c in booked:
        assert c.state == ContactState.SCHEDULED and c.booked_by == "planner" and not c.manual
        assert c.pass_ref is not None and c.pass_aos == c.pass_ref.aos
        # 50 Mbit/s up, 200 Mbit/s down (defaults): rate x duration, in bytes.
        assert c.downlink_capacity_bytes == pytest.approx(25e6 * c.duration_s, rel=1e-6)
        assert c.uplink_capacity_bytes == pytest.approx(6.25e6 * c.duration_s, rel=1e-6)
        (event,) = c.events.all()
        assert event.from_state == "" and event.to_state == ContactState.SCHEDULED
        assert event.actor == "planner" and event.reason.startswith("replan: ")
    # Both hubs are always in view: with one antenna per station the planner fills both
    # stations for the whole window (capacity is maximised without transfer demand).
    under = [c for c in booked if c.station.slug == "under-geo"]
    assert sum(c.duration_s for c in under) > 0.9 * 180 * 60


def test_replan_survives_re_prediction_of_the_pass(fleet: dict[str, object]) -> None:
    replan()
    contact = Contact.objects.filter(station__slug="under-geo").first()
    assert contact is not None
    aos = contact.pass_aos
    Pass.objects.filter(pk=contact.pass_ref_id).delete()
    contact.refresh_from_db()
    assert contact.pass_ref is None and contact.pass_aos == aos


def test_freeze_horizon_contact_survives_replan_untouched(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    frozen = book(client_with_token("schedule"), "geo-a", "under-geo", at(10), at(20))
    assert frozen.status_code == 201, frozen.json()
    before = Contact.objects.get(pk=frozen.json()["id"])
    # Maintenance over it would remove it, were it not inside the freeze horizon.
    fleet_services.maintenance_window_create(
        station=GroundStation.objects.get(slug="under-geo"), starts_at=at(5), ends_at=at(25)
    )
    outcome = replan(freeze_s=1800.0)
    (kept,) = [k for k in outcome.kept if k.contact.pk == before.pk]
    assert kept.reason == "inside the freeze horizon"
    assert before.pk not in {r.contact.pk for r in outcome.removed}
    after = Contact.objects.get(pk=before.pk)
    assert (after.state, after.start, after.end, after.antenna, after.state_changed_at) == (
        before.state,
        before.start,
        before.end,
        before.antenna,
        before.state_changed_at,
    )
    assert after.events.count() == 1  # only the booking
    # Nothing new starts inside the freeze horizon, and nothing clashes with it.
    for c in Contact.objects.exclude(pk=before.pk):
        assert c.start >= at(30)
    assert_feasible(list(Contact.objects.filter(state=ContactState.SCHEDULED)))


def test_in_progress_contact_is_never_touched(fleet: dict[str, object]) -> None:
    replan()
    running = Contact.objects.filter(station__slug="under-geo").order_by("start").first()
    assert running is not None and running.start <= at(1)
    contacts.contact_transition(
        contact=running, to_state=ContactState.IN_PROGRESS, actor="driver", now=at(1)
    )
    fleet_services.maintenance_window_create(
        station=running.station, starts_at=at(0), ends_at=at(180)
    )
    outcome = replan(now=at(2), window_start=at(2))
    assert running.pk in {k.contact.pk for k in outcome.kept}
    running.refresh_from_db()
    assert running.state == ContactState.IN_PROGRESS


def test_replan_reports_removed_contacts_when_a_station_enters_maintenance(
    fleet: dict[str, object],
) -> None:
    first = replan(window_start=at(60), window_end=at(240))
    at_station = {c.contact.pk for c in first.added if c.contact.station.slug == "under-geo"}
    assert at_station
    fleet_services.maintenance_window_create(
        station=GroundStation.objects.get(slug="under-geo"),
        starts_at=at(50),
        ends_at=at(250),
        reason="feed horn",
    )
    second = replan(window_start=at(60), window_end=at(240))
    removed = {r.contact.pk: r.reason for r in second.removed}
    assert set(removed) >= at_station
    assert all(removed[pk].startswith("station in maintenance") for pk in at_station)
    # Others may move too (a hub re-planned onto the other station), each with a reason.
    assert all(removed.values())
    for pk in at_station:
        row = Contact.objects.get(pk=pk)
        assert row.state == ContactState.CANCELLED
        last = row.events.order_by("at", "pk").last()
        assert last is not None and last.from_state == ContactState.SCHEDULED
        assert last.to_state == ContactState.CANCELLED
        assert last.reason.startswith("replan: station in maintenance")
    assert not Contact.objects.filter(
        station__slug="under-geo", state=ContactState.SCHEDULED
    ).exists()
    # Contacts elsewhere stay (kept with a reason) or are re-timed; the plan stays feasible.
    assert all(k.reason for k in second.kept)
    assert_feasible(list(Contact.objects.filter(state=ContactState.SCHEDULED)))


def test_replan_skips_nothing_and_respects_manual_bookings(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    # A manual contact outside the freeze horizon is part of the plan being revised:
    # whatever the planner decides, the result is feasible.
    book(client_with_token("schedule"), "geo-b", "under-geo", at(90), at(100))
    outcome = replan()
    assert not outcome.skipped
    assert_feasible(list(Contact.objects.filter(state=ContactState.SCHEDULED)))


# --- manual booking ------------------------------------------------------------------------


def test_antenna_conflict_answers_409_naming_the_contact(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    api = client_with_token("schedule")
    first = book(api, "geo-a", "under-geo", at(30), at(40))
    assert first.status_code == 201
    body = first.json()
    assert body["antenna"] == 0 and body["manual"] and body["state"] == "scheduled"
    assert body["pass_id"] is not None and body["events"][0]["to_state"] == "scheduled"
    clash = book(api, "geo-b", "under-geo", at(35), at(45))
    assert clash.status_code == 409
    error = clash.json()
    assert error["error"] == "contact_conflict"
    assert error["fields"]["contact_id"] == str(body["id"])
    assert f"contact {body['id']}" in error["detail"] and "antenna" in error["detail"]
    # A second antenna takes it.
    station = GroundStation.objects.get(slug="under-geo")
    fleet_services.station_update(station=station, antennas=2)
    second = book(api, "geo-b", "under-geo", at(35), at(45))
    assert second.status_code == 201 and second.json()["antenna"] == 1


def test_spacecraft_radio_conflict_answers_409_naming_the_contact(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    api = client_with_token("schedule")
    first = book(api, "geo-a", "under-geo", at(30), at(40)).json()
    clash = book(api, "geo-a", "under-geo-2", at(39), at(50))
    assert clash.status_code == 409
    error = clash.json()
    assert error["error"] == "contact_conflict" and "radio" in error["detail"]
    assert error["fields"]["contact_id"] == str(first["id"])
    assert book(api, "geo-a", "under-geo-2", at(40), at(50)).status_code == 201
    craft = Spacecraft.objects.get(slug="geo-a")
    fleet_services.spacecraft_update(spacecraft=craft, radios=2)
    assert book(api, "geo-a", "under-geo-2", at(20), at(35)).status_code == 201


def test_turnaround_and_setup_respected(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    api = client_with_token("schedule")
    first = book(api, "geo-a", "under-geo", at(30), at(40)).json()
    # The antenna needs 120 s turnaround after 12:40 and 60 s setup before the next.
    too_soon = book(api, "geo-b", "under-geo", at(40) + timedelta(seconds=179), at(50))
    assert too_soon.status_code == 409
    assert too_soon.json()["fields"]["contact_id"] == str(first["id"])
    assert (
        book(api, "geo-b", "under-geo", at(40) + timedelta(seconds=180), at(50)).status_code == 201
    )
    before = book(api, "geo-b", "under-geo", at(20), at(30) - timedelta(seconds=179))
    assert before.status_code == 409


def test_maintenance_respected(client_with_token: Client, fleet: dict[str, object]) -> None:
    fleet_services.maintenance_window_create(
        station=GroundStation.objects.get(slug="under-geo"), starts_at=at(60), ends_at=at(90)
    )
    api = client_with_token("schedule")
    inside = book(api, "geo-a", "under-geo", at(70), at(80))
    assert inside.status_code == 409 and inside.json()["error"] == "maintenance_conflict"
    # Setup (60 s) before the contact would fall inside the window.
    setup_inside = book(api, "geo-a", "under-geo", at(90) + timedelta(seconds=30), at(100))
    assert setup_inside.status_code == 409
    # Turnaround (120 s) after it too.
    turn_inside = book(api, "geo-a", "under-geo", at(50), at(60) - timedelta(seconds=60))
    assert turn_inside.status_code == 409
    assert book(api, "geo-a", "under-geo", at(91), at(100)).status_code == 201


def test_booking_outside_a_pass_or_in_the_past_is_refused(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    api = client_with_token("schedule")
    leo_pass = Pass.objects.filter(station__slug="svalbard").order_by("aos").first()
    assert leo_pass is not None
    outside = book(api, "leo-001", "svalbard", leo_pass.los, leo_pass.los + timedelta(minutes=5))
    assert outside.status_code == 409 and outside.json()["error"] == "outside_pass"
    past = book(api, "geo-a", "under-geo", at(-10), at(5))
    assert past.status_code == 400 and "start" in past.json()["fields"]
    unknown = book(api, "nope", "under-geo", at(10), at(20))
    assert unknown.status_code == 400 and "spacecraft" in unknown.json()["fields"]


def test_service_conflict_error_names_the_contact(fleet: dict[str, object]) -> None:
    crafts: dict[str, Spacecraft] = fleet["crafts"]  # type: ignore[assignment]
    stations: dict[str, GroundStation] = fleet["stations"]  # type: ignore[assignment]
    first = contacts.contact_book(
        spacecraft=crafts["geo-a"],
        station=stations["under-geo"],
        start=at(10),
        end=at(20),
        actor="x",
    )
    with pytest.raises(ContactConflict) as caught:
        contacts.contact_book(
            spacecraft=crafts["geo-b"],
            station=stations["under-geo"],
            start=at(15),
            end=at(25),
            actor="x",
        )
    assert caught.value.contact_id == first.pk and caught.value.status == 409


# --- lifecycle -----------------------------------------------------------------------------


def test_cancel_records_an_event(client_with_token: Client, fleet: dict[str, object]) -> None:
    contact = book(client_with_token("schedule"), "geo-a", "under-geo", at(30), at(40)).json()
    api = client_with_token("operate")
    response = api.post(
        f"/api/v1/contacts/{contact['id']}/cancel", {"reason": "rain fade"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "cancelled" and body["reason"] == "rain fade"
    assert [(e["from_state"], e["to_state"]) for e in body["events"]] == [
        ("", "scheduled"),
        ("scheduled", "cancelled"),
    ]
    assert body["events"][1]["reason"] == "rain fade" and body["events"][1]["actor"]
    again = api.post(f"/api/v1/contacts/{contact['id']}/cancel", {}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"
    # The antenna is free again.
    assert (
        book(client_with_token("schedule"), "geo-b", "under-geo", at(30), at(40)).status_code == 201
    )


def test_lifecycle_transitions(fleet: dict[str, object]) -> None:
    crafts: dict[str, Spacecraft] = fleet["crafts"]  # type: ignore[assignment]
    stations: dict[str, GroundStation] = fleet["stations"]  # type: ignore[assignment]
    contact = contacts.contact_book(
        spacecraft=crafts["geo-a"],
        station=stations["under-geo"],
        start=at(10),
        end=at(20),
        actor="x",
    )
    with pytest.raises(InvalidTransition):
        contacts.contact_transition(
            contact=contact, to_state=ContactState.COMPLETED, actor="driver"
        )
    contacts.contact_transition(
        contact=contact, to_state=ContactState.IN_PROGRESS, actor="driver", reason="AOS"
    )
    aborted = contacts.contact_cancel(contact=contact, actor="op", reason="antenna fault")
    assert aborted.state == ContactState.ABORTED
    with pytest.raises(InvalidTransition):
        contacts.contact_cancel(contact=contact, actor="op")
    done = contacts.contact_book(
        spacecraft=crafts["geo-b"],
        station=stations["under-geo"],
        start=at(30),
        end=at(40),
        actor="x",
    )
    contacts.contact_transition(contact=done, to_state=ContactState.IN_PROGRESS, actor="d")
    contacts.contact_transition(contact=done, to_state=ContactState.COMPLETED, actor="d")
    with pytest.raises(InvalidTransition):
        contacts.contact_cancel(contact=done, actor="op")
    trail = list(
        ContactEvent.objects.filter(contact=contact).values_list("from_state", "to_state", "actor")
    )
    assert trail == [
        ("", "scheduled", "x"),
        ("scheduled", "in_progress", "driver"),
        ("in_progress", "aborted", "op"),
    ]


# --- API: reads, replan, scopes ----------------------------------------------------------------


def test_replan_endpoint_and_plan_reads(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    api = client_with_token("schedule")
    response = api.post(
        "/api/v1/contacts/replan",
        {"start": EPOCH.isoformat(), "end": at(120).isoformat(), "freeze_s": 0, "budget_s": 2},
        format="json",
    )
    assert response.status_code == 200, response.json()
    diff = response.json()
    assert diff["added"] and diff["removed"] == [] and diff["kept"] == []
    assert all(entry["reason"] and entry["contact"]["id"] for entry in diff["added"])
    assert diff["method"]
    listed = api.get(
        "/api/v1/contacts",
        {"station": "under-geo", "state": "scheduled", "start": at(30).isoformat(), "limit": 500},
    ).json()
    expected = Contact.objects.filter(station__slug="under-geo", state="scheduled", end__gt=at(30))
    assert listed["count"] == expected.count() > 0
    assert {r["id"] for r in listed["results"]} == set(expected.values_list("pk", flat=True))
    starts = [r["start"] for r in listed["results"]]
    assert starts == sorted(starts)
    detail = api.get(f"/api/v1/contacts/{listed['results'][0]['id']}").json()
    assert detail["events"][0]["to_state"] == "scheduled"
    assert api.get("/api/v1/contacts/999999").status_code == 404
    bad = api.post(
        "/api/v1/contacts/replan",
        {"start": at(60).isoformat(), "end": at(30).isoformat()},
        format="json",
    )
    assert bad.status_code == 400 and "end" in bad.json()["fields"]


def test_scopes(client_with_token: Client, fleet: dict[str, object]) -> None:
    ingest = client_with_token("ingest")
    assert ingest.get("/api/v1/contacts").status_code == 403
    assert ingest.post("/api/v1/contacts/replan", {}, format="json").status_code == 403
    operate = client_with_token("operate")
    assert operate.get("/api/v1/contacts").status_code == 200
    assert operate.post("/api/v1/contacts/replan", {}, format="json").status_code == 403
    assert book(operate, "geo-a", "under-geo", at(30), at(40)).status_code == 403
    contact = book(client_with_token("schedule"), "geo-a", "under-geo", at(30), at(40)).json()
    cancelled = operate.post(f"/api/v1/contacts/{contact['id']}/cancel", {}, format="json")
    assert cancelled.status_code == 200
    assert (
        ingest.post(f"/api/v1/contacts/{contact['id']}/cancel", {}, format="json").status_code
        == 403
    )
    admin = client_with_token("admin")
    assert admin.get(f"/api/v1/contacts/{contact['id']}").status_code == 200


def test_restricted_token_sees_and_books_only_its_spacecraft(
    client_with_token: Client, fleet: dict[str, object]
) -> None:
    crafts: dict[str, Spacecraft] = fleet["crafts"]  # type: ignore[assignment]
    mine = client_with_token("schedule", spacecraft=[crafts["geo-a"]])
    assert book(mine, "geo-b", "under-geo", at(30), at(40)).status_code == 400
    other = book(client_with_token("schedule"), "geo-b", "under-geo", at(30), at(40)).json()
    assert mine.get(f"/api/v1/contacts/{other['id']}").status_code == 404
    assert mine.get("/api/v1/contacts").json()["count"] == 0
    assert mine.post("/api/v1/contacts/replan", {}, format="json").status_code == 403


# --- command -----------------------------------------------------------------------------------


def test_plan_contacts_command(fleet: dict[str, object]) -> None:
    out = StringIO()
    call_command(
        "plan_contacts",
        "--now",
        EPOCH.isoformat(),
        "--hours",
        "2",
        "--freeze",
        "0",
        "--budget",
        "2",
        "--no-progress",
        stdout=out,
    )
    assert "added" in out.getvalue() and Contact.objects.exists()
    with pytest.raises(CommandError):
        call_command("plan_contacts", "--hours", "0", "--no-progress")
    with pytest.raises(CommandError):
        call_command("plan_contacts", "--budget", "0", "--no-progress")
