"""Who may publish telemetry over MQTT: as strict as HTTP. A private Mosquitto runs Zenith's
shipped configuration; its password and ACL files are written by Zenith from the real
tokens, and refreshed under it as tokens are created, restricted, revoked and expire."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ops.fleet import services as fleet
from ops.fleet.models import ApiToken, Spacecraft
from ops.fleet.tokens import hash_token
from telemetry.mqtt import MqttBridge
from telemetry.mqtt.credentials import (
    AuthSync,
    bridge_credentials,
    gateway_credentials,
    mosquitto_hash,
    render,
)
from tests.telemetry.conftest import sample_count
from tests.telemetry.mqtt_private import ZENITH_TOPIC, Gateway, ZenithBroker
from tests.telemetry.mqtt_support import WAIT_S, committed, json_batch, wait_for

_tokens = iter(range(1_000_000))


def token(*scopes: str, spacecraft: tuple[str, ...] = (), **kwargs: Any) -> ApiToken:
    account = fleet.service_account_get_or_create(name="gateways")
    crafts = list(Spacecraft.objects.filter(slug__in=spacecraft))
    return fleet.token_create(
        account=account,
        name=f"gw-{next(_tokens)}",
        scopes=scopes or ("ingest",),
        spacecraft=crafts,
        **kwargs,
    ).token


def refused(url: str, username: str | None = None, password: str | None = None) -> bool:
    gateway = Gateway(url, username, password)
    try:
        return gateway.connect().refused
    finally:
        gateway.close()


@pytest.fixture
def zenith_broker(tmp_path: Path) -> Iterator[ZenithBroker]:
    broker = ZenithBroker(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def bridge(zenith_broker: ZenithBroker, no_samples: None) -> Iterator[Callable[[], MqttBridge]]:
    started: list[MqttBridge] = []

    def start() -> MqttBridge:
        running = MqttBridge(
            url=zenith_broker.url,
            topic=ZENITH_TOPIC,
            client_id=f"zenith-test-auth-{len(started)}",
            backoff_s=(0.05, 0.4),
        )
        running.start()
        started.append(running)
        assert running.wait_ready(WAIT_S), "the bridge's own login was refused"
        return running

    yield start
    for running in started:
        running.stop()


@committed
def test_anonymous_and_unknown_publishers_are_refused(
    nodes: list[Any], zenith_broker: ZenithBroker
) -> None:
    gateway_token = token("ingest")
    scheduler_token = token("schedule")
    url = zenith_broker.start().url
    assert refused(url), "anonymous client accepted"
    assert refused(url, "tok-999999", "guess")
    login = gateway_credentials(gateway_token)
    assert refused(url, login.username, login.password[:-1] + "x")
    assert refused(url, bridge_credentials().username, "not-the-bridge-password")
    # A token without the ingest scope has no broker login, like HTTP ingest refuses it.
    assert refused(url, *_login(scheduler_token))
    assert not refused(url, login.username, login.password)
    assert "not authorised" in zenith_broker.log()


def _login(api_token: ApiToken) -> tuple[str, str]:
    login = gateway_credentials(api_token)
    return login.username, login.password


@committed
def test_gateway_restricted_to_leo_001_cannot_write_leo_002(
    nodes: list[Any], zenith_broker: ZenithBroker, bridge: Callable[[], MqttBridge]
) -> None:
    restricted = token("ingest", spacecraft=("leo-001",))
    unrestricted = token("ingest")
    zenith_broker.start()
    running = bridge()
    gateway = Gateway.for_token(zenith_broker.url, restricted)
    anyone = Gateway.for_token(zenith_broker.url, unrestricted)
    try:
        assert not gateway.connect().refused and not anyone.connect().refused
        for topic in ("zenith/leo-001/telemetry/errors", "zenith/leo-002/telemetry/errors"):
            gateway.subscribe(topic)  # Mosquitto grants; its ACL filters what is delivered
        anyone.subscribe("zenith/leo-002/telemetry/errors")

        mid = gateway.publish("zenith/leo-001/telemetry", json_batch(2))
        assert not gateway.wait_acks([mid])[0].is_failure
        wait_for(lambda: running.stats.stored == 1, "leo-001's message to commit")
        # Its own error reports reach it; another spacecraft's do not.
        gateway.publish("zenith/leo-001/telemetry", b"{not json")
        assert gateway.received.get(timeout=WAIT_S).topic == "zenith/leo-001/telemetry/errors"
        anyone.publish("zenith/leo-002/telemetry", b"{not json")
        assert anyone.received.get(timeout=WAIT_S).topic == "zenith/leo-002/telemetry/errors"
        time.sleep(0.3)
        assert gateway.received.empty()

        denied = gateway.publish("zenith/leo-002/telemetry", json_batch(2))
        reason = gateway.wait_acks([denied])[0]
        assert reason.is_failure and reason.getName() == "Not authorized"
        time.sleep(0.5)  # had the broker passed it on, the bridge would have it by now
        assert running.stats.received == 3 and running.stats.invalid == 2
        assert sample_count("leo-001") == 4 and sample_count("leo-002") == 0

        # An unrestricted gateway writes any node's topic, as an unrestricted token does.
        mid = anyone.publish("zenith/leo-002/telemetry", json_batch(1))
        assert not anyone.wait_acks([mid])[0].is_failure
    finally:
        gateway.close()
        anyone.close()
    wait_for(lambda: running.stats.stored == 2, "leo-002's message from the unrestricted token")
    assert sample_count("leo-002") == 2


@committed
def test_tokens_created_restricted_revoked_and_expired_reach_the_broker(
    nodes: list[Any], zenith_broker: ZenithBroker
) -> None:
    first = token("ingest")
    zenith_broker.start()
    sync = AuthSync(
        zenith_broker.auth_dir,
        topic_filter=ZENITH_TOPIC,
        pid_path=zenith_broker.pid_path,
        every_s=0.2,
    ).start()
    url = zenith_broker.url
    connected = Gateway.for_token(url, first)
    try:
        assert not connected.connect().refused

        # Created after the broker started: accepted after the next refresh.
        later = token("ingest")
        wait_for(lambda: not refused(url, *_login(later)), "the new token to be accepted")
        assert not denied(url, later, "zenith/leo-002/telemetry")

        # Restricted after the fact: its other topics are refused after the refresh.
        later.spacecraft.set([nodes[0]])
        ApiToken.objects.filter(pk=later.pk).update(restricted=True)
        wait_for(lambda: denied(url, later, "zenith/leo-002/telemetry"), "the restriction")
        assert not denied(url, later, "zenith/leo-001/telemetry")

        # Revoked: the connected gateway is cut off at the reload, and refused from then on.
        revoked_at = time.monotonic()
        fleet.token_revoke(token_id=first.pk, revoked_by="test")
        assert connected.disconnected.wait(WAIT_S), "the revoked gateway stayed connected"
        assert time.monotonic() - revoked_at < 3.0
        assert refused(url, *_login(first))

        # Expired: refused once its time has passed, with no change to the row.
        expiring = token("ingest", expires_at=timezone.now() + timedelta(seconds=2))
        wait_for(lambda: not refused(url, *_login(expiring)), "the expiring token, still valid")
        wait_for(lambda: refused(url, *_login(expiring)), "the expired token to be refused")
    finally:
        connected.close()
        sync.stop()
    assert sync.failures == 0 and sync.changes >= 5


def denied(url: str, api_token: ApiToken, topic: str) -> bool:
    """Whether the broker refuses this token's gateway a publish to ``topic``."""
    gateway = Gateway.for_token(url, api_token)
    try:
        assert not gateway.connect().refused
        reason = gateway.wait_acks([gateway.publish(topic, json_batch(1))])[0]
        return reason.getName() == "Not authorized"
    finally:
        gateway.close()


def _acl(broker: ZenithBroker) -> str:
    return (broker.auth_dir / "acl").read_text()


@committed
def test_files_are_rewritten_only_when_tokens_change(
    nodes: list[Any], zenith_broker: ZenithBroker
) -> None:
    restricted = token("ingest", spacecraft=("leo-001", "leo-003"))
    token("operate")  # no ingest scope: no broker user
    admin = token("admin")  # admin implies ingest, as on HTTP
    assert zenith_broker.write_auth() is True
    assert zenith_broker.write_auth() is False
    acl = _acl(zenith_broker)
    assert f"user tok-{restricted.pk}\n" in acl
    assert (
        f"user tok-{restricted.pk}\ntopic write zenith/leo-001/telemetry\n"
        "topic write zenith/leo-003/telemetry\ntopic read zenith/leo-001/telemetry/errors\n"
        "topic read zenith/leo-003/telemetry/errors\n"
    ) in acl
    assert f"user tok-{admin.pk}\ntopic write zenith/+/telemetry\n" in acl
    assert "user zenith-bridge\n" in acl and "topic read $SYS/broker/#\n" in acl
    passwd = (zenith_broker.auth_dir / "passwd").read_text()
    users = [line.split(":")[0] for line in passwd.splitlines() if not line.startswith("#")]
    assert users == ["zenith-bridge", f"tok-{restricted.pk}", f"tok-{admin.pk}"]
    assert (zenith_broker.auth_dir / "passwd").stat().st_mode & 0o777 == 0o644
    fleet.token_revoke(token_id=admin.pk)
    assert zenith_broker.write_auth() is True
    assert f"tok-{admin.pk}" not in _acl(zenith_broker)
    # The secret never reaches the files: only hashes of what is derived from its hash.
    assert ApiToken.objects.get(pk=restricted.pk).token_sha256 not in passwd


def test_password_hashes_are_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    import shutil
    import subprocess

    tool = shutil.which("mosquitto_passwd")
    assert tool is not None, "mosquitto_passwd ships with the mosquitto package"
    ours = mosquitto_hash("s3cret", username="tok-1")
    _, _, iterations, salt, _ = ours.split("$")
    # Mosquitto's tool picks its own salt; verify ours by checking the same structure and
    # that Mosquitto itself accepts a file of ours (the broker tests above log in with it).
    subprocess.run([tool, "-b", "-c", str(tmp_path / "pw"), "tok-1", "s3cret"], check=True)
    theirs = (tmp_path / "pw").read_text().strip().split(":", 1)[1]
    assert theirs.split("$")[1:3] == ["7", iterations]
    assert len(theirs.split("$")[3]) == len(salt)
    assert render([])[0].startswith("# zenith-digest ")


@pytest.mark.django_db
def test_credentials_endpoint_and_command(
    nodes: list[Any], client_with_token: Callable[..., APIClient]
) -> None:
    secret = fleet.token_create(
        account=fleet.service_account_get_or_create(name="gw"),
        name="leo-001-gateway",
        scopes=["ingest"],
        spacecraft=[nodes[0]],
    ).secret
    api_token = ApiToken.objects.get(token_sha256=hash_token(secret))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get("/api/v1/telemetry/mqtt-credentials")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    login = gateway_credentials(api_token)
    assert body == {
        "url": settings.MQTT_PUBLIC_URL,
        "username": f"tok-{api_token.pk}",
        "password": login.password,
        "publish": ["zenith/leo-001/telemetry"],
        "subscribe": ["zenith/leo-001/telemetry/errors"],
        "refresh_s": settings.MQTT_AUTH_SYNC_S,
    }
    out = io.StringIO()
    call_command("mqtt_credentials", token=api_token.pk, stdout=out)
    assert orjson.loads(out.getvalue()) == body

    # Scope ingest only; a person (no token) has no MQTT login; a revoked token has none.
    assert (
        client_with_token("schedule").get("/api/v1/telemetry/mqtt-credentials").status_code == 403
    )
    person = APIClient()
    person.force_login(get_user_model().objects.create_superuser("root", "r@example.org", "pw"))
    refusal = person.get("/api/v1/telemetry/mqtt-credentials")
    assert refusal.status_code == 403 and refusal.json()["error"] == "not_an_ingest_token"
    fleet.token_revoke(token_id=api_token.pk)
    with pytest.raises(CommandError, match="live API token with the ingest scope"):
        call_command("mqtt_credentials", token=api_token.pk, stdout=io.StringIO())
    # Another token's secret gives another password: nothing is shared between gateways.
    other = gateway_credentials(token("ingest"))
    assert other.password != login.password and len(login.password) == 43
