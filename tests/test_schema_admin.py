from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_without_warnings() -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in ("/api/v1/spacecraft", "/api/v1/spacecraft/{slug}/orbit-sets", "/api/v1/tokens"):
        assert f"  {path}:" in schema
    assert "bearerAuth" in schema


def test_schema_and_docs_served(client: Client) -> None:
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content  # swagger-ui comes from the installed sidecar


def staff(username: str, *roles: str) -> Client:
    user = make_user(username, *roles)
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_admin_permissions_follow_roles() -> None:
    operator = staff("olga", "operator")
    assert operator.get("/admin/fleet/maintenancewindow/add/").status_code == 200
    assert operator.get("/admin/fleet/apitoken/").status_code == 403
    assert operator.get("/admin/fleet/apitoken/add/").status_code == 403
    assert operator.get("/admin/fleet/spacecraft/add/").status_code == 403
    scheduler = staff("sam", "scheduler")
    assert scheduler.get("/admin/fleet/orbitset/add/").status_code == 200
    assert scheduler.get("/admin/fleet/groundstation/add/").status_code == 403
    admin = staff("ada", "admin")
    assert admin.get("/admin/fleet/apitoken/add/").status_code == 200
    assert admin.get("/admin/fleet/spacecraft/add/").status_code == 200


def test_admin_token_creation_shows_secret_once_and_stores_hash() -> None:
    from ops.fleet.models import ApiToken, ServiceAccount

    account = ServiceAccount.objects.create(name="gw")
    admin = staff("ada", "admin")
    response = admin.post(
        "/admin/fleet/apitoken/add/",
        {"account": account.pk, "name": "ingest-1", "scopes": ["ingest"]},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="ingest-1")
    text = response.content.decode()
    secret = text.split("will not be shown again: ")[1].split("<")[0].strip()
    assert secret.startswith("znt_")
    from ops.fleet.tokens import hash_token

    assert token.token_sha256 == hash_token(secret)
    assert token.scopes == ["ingest"]


def test_admin_refuses_overlapping_maintenance() -> None:
    from ops.fleet.models import MaintenanceWindow
    from tests.factories import make_station

    station = make_station("kiruna")
    operator = staff("olga", "operator")
    window = {
        "station": station.pk,
        "starts_at_0": "2026-12-01",
        "starts_at_1": "08:00:00",
        "ends_at_0": "2026-12-01",
        "ends_at_1": "10:00:00",
        "reason": "feed",
    }
    assert operator.post("/admin/fleet/maintenancewindow/add/", window).status_code == 302
    clash = {**window, "starts_at_1": "09:00:00", "ends_at_1": "11:00:00"}
    response = operator.post("/admin/fleet/maintenancewindow/add/", clash)
    assert response.status_code == 200 and b"overlaps window" in response.content
    assert MaintenanceWindow.objects.count() == 1


def test_every_role_grant_names_a_real_permission() -> None:
    from django.contrib.auth.models import Permission

    from ops.fleet.roles import ROLE_ADMIN_PERMISSIONS

    for role, grants in ROLE_ADMIN_PERMISSIONS.items():
        for app_label, model, actions in grants:
            for action in actions:
                found = Permission.objects.filter(
                    content_type__app_label=app_label, codename=f"{action}_{model}"
                )
                assert found.exists(), (role, app_label, model, action)


def test_alert_admin_permissions_follow_roles() -> None:
    from ops.alerts.models import Channel, Schedule

    schedule = Schedule.objects.create(name="primary")
    channel = Channel.objects.create(name="ops-hook", kind="webhook", url="https://x.test/h")
    operator = staff("olga", "operator")
    assert operator.get("/admin/alerts/rule/add/").status_code == 200  # owns the rule set
    rota = operator.get(f"/admin/alerts/schedule/{schedule.pk}/change/").content.decode()
    assert 'id="rotations-empty"' in rota and 'id="overrides-empty"' in rota  # and the rota
    assert operator.get("/admin/alerts/auditentry/").status_code == 200
    assert operator.get("/admin/alerts/alert/").status_code == 200
    assert operator.get("/admin/alerts/escalationpolicy/add/").status_code == 403
    assert operator.get("/admin/alerts/channel/").status_code == 403  # webhook secrets
    oncall = staff("otto", "oncall")
    assert oncall.get("/admin/alerts/rule/").status_code == 200
    assert oncall.get("/admin/alerts/rule/add/").status_code == 403
    shifts = oncall.get(f"/admin/alerts/schedule/{schedule.pk}/change/").content.decode()
    assert 'id="overrides-empty"' in shifts  # records a shift swap...
    assert 'id="rotations-empty"' not in shifts  # ...but does not redraw the rotation
    assert oncall.get(f"/admin/alerts/channel/{channel.pk}/change/").status_code == 403
    admin = staff("ada", "admin")
    assert admin.get(f"/admin/alerts/channel/{channel.pk}/change/").status_code == 200
    assert admin.get("/admin/alerts/escalationpolicy/add/").status_code == 200
    assert admin.get("/admin/alerts/alert/add/").status_code == 403  # records stay read-only
    scheduler = staff("sam", "scheduler")
    assert scheduler.get("/admin/alerts/alert/").status_code == 403
    assert scheduler.get("/admin/alerts/rule/").status_code == 403
