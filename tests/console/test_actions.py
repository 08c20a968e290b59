"""Acting from the console: the same services as the API, as the signed-in person; the
role is checked on the server whatever the page showed, and every form carries CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from scheduling.models import TransferEvent, TransferState, Workload
from tests.console.support import build_fleet
from tests.factories import make_user

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def signed_in(*roles: str, name: str = "olga", csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name, *roles))
    return client


def test_an_operator_pauses_resumes_reprioritises_and_cancels_a_transfer() -> None:
    fleet = build_fleet(1)
    transfer = fleet.transfers[0]
    client = signed_in("operator")
    paused = client.post(f"/transfers/{transfer.pk}/pause/", {"reason": "storm"}, **JSON)
    assert paused.status_code == 200, paused.content
    assert paused.json()["transfer"]["state"] == "paused"
    event = TransferEvent.objects.filter(transfer=transfer, to_state="paused").get()
    assert event.actor == "olga" and event.detail == "storm"
    resumed = client.post(f"/transfers/{transfer.pk}/resume/", **JSON)
    assert resumed.json()["transfer"]["state"] in ("queued", "planned")
    client.post(f"/transfers/{transfer.pk}/reprioritise/", {"priority": "9"}, **JSON)
    transfer.refresh_from_db()
    assert transfer.priority == 9
    assert TransferEvent.objects.filter(transfer=transfer, kind="reprioritise").exists()
    cancelled = client.post(f"/transfers/{transfer.pk}/cancel/", **JSON)
    assert cancelled.json()["message"] == f"transfer {transfer.pk} cancelled"
    transfer.refresh_from_db()
    assert transfer.state == TransferState.CANCELLED


def test_a_refused_state_change_is_a_409_naming_the_state() -> None:
    fleet = build_fleet(1)
    transfer = fleet.transfers[0]
    client = signed_in("operator")
    response = client.post(f"/transfers/{transfer.pk}/resume/", **JSON)  # not paused
    assert response.status_code == 409
    assert (
        response.json()["error"] == "invalid_transition" and "planned" in response.json()["detail"]
    )
    bad = client.post(f"/transfers/{transfer.pk}/reprioritise/", {"priority": "11"}, **JSON)
    assert bad.status_code == 400 and "priority" in bad.json()["fields"]
    assert client.post(f"/transfers/{transfer.pk}/explode/", **JSON).status_code == 404
    assert client.post("/transfers/999999/pause/", **JSON).status_code == 404


def test_without_javascript_an_action_redirects_back_with_a_message() -> None:
    fleet = build_fleet(1)
    client = signed_in("operator")
    response = client.post(
        f"/transfers/{fleet.transfers[0].pk}/pause/", HTTP_REFERER="/transfers/", follow=True
    )
    assert response.redirect_chain[-1][0] == "/transfers/"
    assert f"transfer {fleet.transfers[0].pk} paused" in response.content.decode()


def test_workload_actions_use_the_workload_services() -> None:
    fleet = build_fleet(1)
    workload = Workload.objects.get(spacecraft=fleet.crafts[0])
    client = signed_in("operator")
    assert client.post(f"/workloads/{workload.pk}/pause/", **JSON).json()["workload"]["paused"]
    client.post(f"/workloads/{workload.pk}/reprioritise/", {"priority": "3"}, **JSON)
    workload.refresh_from_db()
    assert workload.priority == 3
    client.post(f"/workloads/{workload.pk}/cancel/", **JSON)
    workload.refresh_from_db()
    assert workload.state == "cancelled"


@pytest.mark.parametrize("role", ["scheduler", None])
def test_a_forged_post_from_a_role_that_may_not_act_is_refused(role: str | None) -> None:
    fleet = build_fleet(1)
    transfer = fleet.transfers[0]
    client = signed_in(*([role] if role else []), name="mallory")
    for action in ("pause", "cancel", "reprioritise"):
        response = client.post(f"/transfers/{transfer.pk}/{action}/", {"priority": "1"})
        assert response.status_code == 403, action
    workload_id = transfer.workload_id
    assert client.post(f"/workloads/{workload_id}/cancel/").status_code == 403
    transfer.refresh_from_db()
    assert transfer.state == TransferState.PLANNED and transfer.priority == 5


def test_actions_need_a_post_a_session_and_a_csrf_token() -> None:
    fleet = build_fleet(1)
    path = f"/transfers/{fleet.transfers[0].pk}/pause/"
    assert Client().post(path).status_code == 401
    assert signed_in("operator").get(path).status_code == 405
    no_token = signed_in("operator", name="oscar", csrf=True).post(path)
    assert no_token.status_code == 403
    fleet.transfers[0].refresh_from_db()
    assert fleet.transfers[0].state == TransferState.PLANNED
