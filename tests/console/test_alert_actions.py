"""Acting on alerts from the console: ops.alerts' lifecycle services as the signed-in
person, each action with its comment in the audit; the role checked on the server on
every POST whatever the page showed; CSRF on every form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ops.alerts.models import Alert, AlertState, AuditEntry
from tests.console.alert_support import cross, make_rule, raise_alert
from tests.console.support import build_fleet
from tests.factories import make_user

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def signed_in(*roles: str, name: str = "otto", csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name, *roles))
    return client


def last_audit(alert: Alert) -> AuditEntry:
    entry = AuditEntry.objects.filter(alert_id=alert.pk).order_by("-id").first()
    assert entry is not None
    return entry


def test_an_oncall_engineer_acks_assigns_shelves_unshelves_and_unacks_with_comments() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "critical", key="hot")
    client = signed_in("oncall")

    acked = client.post(f"/alerts/{alert.pk}/ack/", {"comment": "looking"}, **JSON)
    assert acked.status_code == 200, acked.content
    assert acked.json()["message"] == f"alert {alert.pk} acknowledged"
    assert acked.json()["alert"]["state"] == "acknowledged"
    entry = last_audit(alert)
    assert (entry.actor, entry.action, entry.comment) == ("otto", "alert.acknowledged", "looking")

    client.post(f"/alerts/{alert.pk}/assign/", {"assignee": "olga", "comment": "yours"}, **JSON)
    alert.refresh_from_db()
    assert alert.assignee == "olga" and last_audit(alert).detail == {"from": "", "to": "olga"}

    before = timezone.now()
    shelved = client.post(f"/alerts/{alert.pk}/shelve/", {"minutes": "120", "comment": "dump"})
    assert shelved.status_code == 302  # without JavaScript: back to the page, with a message
    alert.refresh_from_db()
    assert alert.shelved_by == "otto" and alert.shelved_until is not None
    assert timedelta(minutes=119) < alert.shelved_until - before < timedelta(minutes=121)

    client.post(f"/alerts/{alert.pk}/unshelve/", **JSON)
    unacked = client.post(f"/alerts/{alert.pk}/unack/", {"comment": "not mine"}, **JSON)
    alert.refresh_from_db()
    assert unacked.json()["alert"]["state"] == "unacknowledged"
    assert alert.shelved_until is None and alert.state == AlertState.UNACKNOWLEDGED
    actions = list(
        AuditEntry.objects.filter(alert_id=alert.pk, actor="otto")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "alert.acknowledged",
        "alert.assigned",
        "alert.shelved",
        "alert.unshelved",
        "alert.unacknowledged",
    ]


def test_shelving_until_a_time_typed_in_utc_or_in_the_browsers_local_zone() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "warning", key="later")
    client = signed_in("operator", name="olga")
    until = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    typed = until.strftime("%Y-%m-%dT%H:%M")
    client.post(f"/alerts/{alert.pk}/shelve/", {"until": typed, "utc_offset_min": "0"}, **JSON)
    alert.refresh_from_db()
    assert alert.shelved_until == until
    # Typed as a clock two hours ahead of UTC shows it: the same instant.
    local = (until + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/alerts/{alert.pk}/shelve/", {"until": local, "utc_offset_min": "120"}, **JSON)
    alert.refresh_from_db()
    assert alert.shelved_until == until
    explicit = (until + timedelta(hours=1)).isoformat()
    client.post(f"/alerts/{alert.pk}/shelve/", {"until": explicit}, **JSON)
    alert.refresh_from_db()
    assert alert.shelved_until == until + timedelta(hours=1)


def test_refused_actions_answer_as_the_api_does() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "warning", key="x")
    client = signed_in("oncall")
    wrong = client.post(f"/alerts/{alert.pk}/unack/", **JSON)  # not acknowledged
    assert wrong.status_code == 409 and wrong.json()["error"] == "wrong_state"
    assert "unacknowledged" in wrong.json()["detail"]
    reset = client.post(f"/alerts/{alert.pk}/reset/", **JSON)
    assert reset.status_code == 409 and "still active" in reset.json()["detail"]
    past = client.post(f"/alerts/{alert.pk}/shelve/", {"until": "2000-01-01T00:00"}, **JSON)
    assert past.status_code == 400 and "until" in past.json()["fields"]
    too_long = datetime.now(UTC) + timedelta(days=30)
    longer = client.post(f"/alerts/{alert.pk}/shelve/", {"until": too_long.isoformat()}, **JSON)
    assert longer.status_code == 400 and "hours" in longer.json()["fields"]["until"]
    garbled = client.post(f"/alerts/{alert.pk}/shelve/", {"until": "soon"}, **JSON)
    assert garbled.status_code == 400 and garbled.json()["fields"] == {
        "until": "YYYY-MM-DDTHH:MM (UTC)"
    }
    assert client.post(f"/alerts/{alert.pk}/shelve/", **JSON).status_code == 400  # how long?
    assert client.post(f"/alerts/{alert.pk}/explode/", **JSON).status_code == 404
    assert client.post("/alerts/999999/ack/", **JSON).status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.UNACKNOWLEDGED and alert.shelved_until is None


def test_a_latched_alert_crossed_by_real_ingest_is_acked_then_reset_from_the_console() -> None:
    fleet = build_fleet(1, telemetry=False)
    make_rule("gpu-latch", latching=True)
    now = timezone.now()
    alert = cross(fleet.crafts[0], 88.0, at=now - timedelta(seconds=20))
    assert alert.state == AlertState.UNACKNOWLEDGED and alert.rule_key == "gpu-latch"
    cross(fleet.crafts[0], 40.0, at=now - timedelta(seconds=10))  # clears: latched
    alert.refresh_from_db()
    assert alert.state == AlertState.LATCHED
    client = signed_in("operator", name="olga")
    page = client.get("/alerts/").content.decode()
    row = page.split(f'data-alert-id="{alert.pk}"')[1].split("</tr>")[0]
    assert 'data-state="latched"' in row and 'data-acked="0"' in row
    assert client.post(f"/alerts/{alert.pk}/ack/", **JSON).json()["alert"]["state"] == "latched"
    done = client.post(f"/alerts/{alert.pk}/reset/", {"comment": "fan replaced"}, **JSON)
    assert done.json()["alert"]["state"] == "normal"
    entry = last_audit(alert)
    assert (entry.actor, entry.action, entry.comment) == ("olga", "alert.reset", "fan replaced")
    assert f'data-alert-id="{alert.pk}"' not in client.get("/alerts/").content.decode()


@pytest.mark.parametrize("role", ["scheduler", None])
def test_a_forged_post_from_a_role_that_may_not_act_is_refused(role: str | None) -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "critical", key="forged")
    client = signed_in(*([role] if role else []), name="mallory")
    for action, data in (
        ("ack", {}),
        ("shelve", {"minutes": "60"}),
        ("assign", {"assignee": "mallory"}),
        ("reset", {}),
    ):
        response = client.post(f"/alerts/{alert.pk}/{action}/", data, **JSON)
        assert response.status_code == 403, action
        assert response.json()["error"] == "permission_denied"
    alert.refresh_from_db()
    assert alert.state == AlertState.UNACKNOWLEDGED and alert.assignee == ""
    assert alert.shelved_until is None
    assert not AuditEntry.objects.filter(alert_id=alert.pk, actor="mallory").exists()


def test_actions_need_a_post_a_session_and_a_csrf_token() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "critical", key="csrf")
    path = f"/alerts/{alert.pk}/ack/"
    assert Client().post(path).status_code == 401
    assert signed_in("oncall").get(path).status_code == 405
    assert signed_in("oncall", name="oscar", csrf=True).post(path).status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.UNACKNOWLEDGED
    # The page's forms carry the token the middleware checks.
    client = signed_in("oncall", name="olive", csrf=True)
    page = client.get("/alerts/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post(path, {"csrfmiddlewaretoken": token}, **JSON).status_code == 200


def test_without_javascript_an_action_redirects_back_with_a_message() -> None:
    fleet = build_fleet(1, telemetry=False)
    alert = raise_alert(fleet.crafts[0], "critical", key="nojs")
    client = signed_in("oncall")
    done = client.post(f"/alerts/{alert.pk}/ack/", HTTP_REFERER="/alerts/", follow=True)
    assert done.redirect_chain[-1][0] == "/alerts/"
    assert f"alert {alert.pk} acknowledged" in done.content.decode()
    again = client.post(f"/alerts/{alert.pk}/ack/", HTTP_REFERER="/nodes/leo-001/", follow=True)
    assert again.redirect_chain[-1][0] == "/nodes/leo-001/"
    assert "nothing to acknowledge" in again.content.decode()
