from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from channels.layers import channel_layers
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_ok_against_real_services(client: Client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) >= {"database", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_503_when_channel_layer_down(client: Client, settings: object) -> None:
    settings.CHANNEL_LAYERS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    channel_layers.backends.clear()
    try:
        response = client.get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response["Retry-After"]
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["channel_layer"] == {"ok": False, "required": True}
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode()  # no hosts or errors for anonymous


def test_healthz_details_for_admins_only(
    client: Client, client_with_token: Callable[..., APIClient]
) -> None:
    anonymous = client.get("/healthz").json()["checks"]["database"]
    assert set(anonymous) == {"ok", "required"}
    detailed = client_with_token("admin").get("/healthz").json()["checks"]["database"]
    assert detailed["vendor"] == "postgresql" and "latency_ms" in detailed
    assert client.head("/healthz").status_code == 200


def test_healthz_names_the_timescaledb_license_to_admins(
    client: Client, client_with_token: Callable[..., APIClient]
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('timescaledb.license', true)")
        loaded = cursor.fetchone()[0]
    # The suite runs on the Timescale-licensed build unless the Apache run says otherwise
    # (tests/telemetry/test_compression_license.py).
    assert loaded == os.environ.get("ZENITH_EXPECT_TSDB_LICENSE", "timescale")
    detailed = client_with_token("admin").get("/healthz").json()["checks"]["database"]
    assert detailed["timescaledb_license"] == loaded
    assert detailed["timescaledb"].startswith("2.")
    anonymous = client.get("/healthz")
    assert set(anonymous.json()["checks"]["database"]) == {"ok", "required"}
    assert loaded not in anonymous.content.decode()


def test_metrics_need_admin(client_with_token: Callable[..., APIClient], api: APIClient) -> None:
    assert api.get("/metrics").status_code == 401
    assert client_with_token("operate").get("/metrics").status_code == 403
    admin = client_with_token("admin")
    admin.get("/api/v1/spacecraft")
    response = admin.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert (
        'zenith_http_requests_total{method="GET",route="/api/v1/spacecraft",status="200"}' in text
    )
    assert "zenith_http_request_duration_seconds_bucket" in text
