from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ops.fleet import services, tokencache
from ops.fleet.models import ApiToken, Spacecraft
from ops.fleet.tokens import hash_token
from tests.factories import make_spacecraft, make_token, make_user

pytestmark = pytest.mark.django_db


def test_anonymous_gets_401_with_challenge(api: APIClient) -> None:
    response = api.get("/api/v1/spacecraft")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "not_authenticated"


def test_garbage_token_gets_401(api: APIClient) -> None:
    api.credentials(HTTP_AUTHORIZATION="Bearer znt_not-a-real-token")
    assert api.get("/api/v1/spacecraft").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer")
    assert api.get("/api/v1/spacecraft").status_code == 401


def test_ingest_token_cannot_read_fleet(client_with_token: Callable[..., APIClient]) -> None:
    response = client_with_token("ingest").get("/api/v1/spacecraft")
    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]


@pytest.mark.parametrize("scope", ["schedule", "operate", "admin"])
def test_reading_scopes_can_read(client_with_token: Callable[..., APIClient], scope: str) -> None:
    assert client_with_token(scope).get("/api/v1/spacecraft").status_code == 200


def test_schedule_cannot_create_spacecraft(client_with_token: Callable[..., APIClient]) -> None:
    response = client_with_token("schedule").post(
        "/api/v1/spacecraft", {"slug": "x-1", "name": "x"}, format="json"
    )
    assert response.status_code == 403


def test_only_admin_manages_tokens(client_with_token: Callable[..., APIClient]) -> None:
    body = {"account": "gateway-1", "name": "ingest", "scopes": ["ingest"]}
    for scope in ("operate", "schedule", "ingest"):
        assert (
            client_with_token(scope).post("/api/v1/tokens", body, format="json").status_code == 403
        )
        assert client_with_token(scope).get("/api/v1/tokens").status_code == 403
    created = client_with_token("admin").post("/api/v1/tokens", body, format="json")
    assert created.status_code == 201, created.json()
    secret = created.json()["token"]
    stored = ApiToken.objects.get(name="ingest", account__name="gateway-1")
    assert secret.startswith("znt_") and secret not in stored.token_sha256
    assert stored.token_sha256 == hash_token(secret)
    listed = client_with_token("admin").get("/api/v1/tokens").json()
    assert all("token" not in row and "token_sha256" not in row for row in listed["results"])


def test_operator_session_cannot_create_tokens(api: APIClient) -> None:
    make_user("olga", "operator")
    api.login(username="olga", password="correct-horse-battery")
    assert api.get("/api/v1/spacecraft").status_code == 200
    response = api.post(
        "/api/v1/tokens", {"account": "a", "name": "b", "scopes": ["admin"]}, format="json"
    )
    assert response.status_code == 403


def test_admin_session_needs_csrf(api: APIClient) -> None:
    make_user("ada", "admin")
    strict = APIClient(enforce_csrf_checks=True)
    strict.login(username="ada", password="correct-horse-battery")
    response = strict.post(
        "/api/v1/tokens", {"account": "a", "name": "b", "scopes": ["ingest"]}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_revoked_token_refused(
    client_with_token: Callable[..., APIClient], admin_api: APIClient
) -> None:
    secret = make_token("operate", name="soon-revoked", account="ops-bot")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/spacecraft").status_code == 200
    token = ApiToken.objects.get(name="soon-revoked")
    assert token.last_used_at is not None
    revoked = admin_api.post(f"/api/v1/tokens/{token.pk}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/spacecraft").status_code == 401


def test_expired_token_refused() -> None:
    secret = make_token("operate", name="short", expires_at=timezone.now() + timedelta(seconds=30))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/spacecraft").status_code == 200
    # Expiry is checked on every request, also for a token in the verified-token cache.
    token = ApiToken.objects.get(name="short")
    token.expires_at = timezone.now() + timedelta(milliseconds=200)
    token.save()
    tokencache.clear()
    assert client.get("/api/v1/spacecraft").status_code == 200  # cached with the new expiry
    time.sleep(0.3)
    assert client.get("/api/v1/spacecraft").status_code == 401


def test_inactive_account_refused(client_with_token: Callable[..., APIClient]) -> None:
    client = client_with_token("operate", account="retired")
    services.service_account_get_or_create(name="retired")
    from ops.fleet.models import ServiceAccount

    ServiceAccount.objects.filter(name="retired").update(active=False)
    tokencache.clear()  # other processes see it when their cache entry lapses (seconds)
    assert client.get("/api/v1/spacecraft").status_code == 401


def test_revocation_in_another_process_seen_after_cache_time(settings: object) -> None:
    settings.ZENITH_TOKEN_CACHE_S = 1  # type: ignore[attr-defined]
    secret = make_token("operate", name="elsewhere")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/spacecraft").status_code == 200
    # revoked behind this process's back (as another web process would)
    ApiToken.objects.filter(name="elsewhere").update(revoked_at=timezone.now())
    deadline = time.monotonic() + 5
    while client.get("/api/v1/spacecraft").status_code == 200:
        assert time.monotonic() < deadline, "revocation never took effect"
        time.sleep(0.1)


def test_token_restricted_to_spacecraft(client_with_token: Callable[..., APIClient]) -> None:
    mine = make_spacecraft("leo-001")
    make_spacecraft("leo-002")
    client = client_with_token("schedule", spacecraft=[mine])
    slugs = [row["slug"] for row in client.get("/api/v1/spacecraft").json()["results"]]
    assert slugs == ["leo-001"]
    assert client.get("/api/v1/spacecraft/leo-002").status_code == 404


def test_restricted_admin_token_cannot_add_spacecraft_or_issue_tokens(
    client_with_token: Callable[..., APIClient],
) -> None:
    mine = make_spacecraft("leo-001")
    client = client_with_token("admin", spacecraft=[mine], account="fenced")
    added = client.post("/api/v1/spacecraft", {"slug": "leo-002", "name": "x"}, format="json")
    assert added.status_code == 403 and added.json()["error"] == "permission_denied"
    assert not Spacecraft.objects.filter(slug="leo-002").exists()
    body = {"account": "gateway-1", "name": "ingest", "scopes": ["ingest"]}
    issued = client.post("/api/v1/tokens", body, format="json")
    assert issued.status_code == 403 and issued.json()["error"] == "permission_denied"
    assert not ApiToken.objects.filter(account__name="gateway-1").exists()
    # What the token may touch it still edits.
    renamed = client.patch("/api/v1/spacecraft/leo-001", {"name": "Mine"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Mine"


@pytest.mark.parametrize("token_id", ["abc", "424242", "99999999999999999999"])
def test_revoking_an_unknown_token_is_404(admin_api: APIClient, token_id: str) -> None:
    response = admin_api.post(f"/api/v1/tokens/{token_id}/revoke")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_token_create_validation(admin_api: APIClient) -> None:
    bad_scope = admin_api.post(
        "/api/v1/tokens", {"account": "gw", "name": "x", "scopes": ["root"]}, format="json"
    )
    assert bad_scope.status_code == 400 and "scopes" in " ".join(bad_scope.json()["fields"])
    past = admin_api.post(
        "/api/v1/tokens",
        {"account": "gw", "name": "x", "scopes": ["ingest"], "expires_at": "2001-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400 and "expires_at" in past.json()["fields"]
    ghost = admin_api.post(
        "/api/v1/tokens",
        {"account": "gw", "name": "x", "scopes": ["ingest"], "spacecraft": ["nope"]},
        format="json",
    )
    assert ghost.status_code == 400 and "spacecraft" in ghost.json()["fields"]
    assert ApiToken.objects.filter(account__name="gw").count() == 0
