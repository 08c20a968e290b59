"""zenith.registry: what apps contribute reaches the wiring (beat, /healthz, the console)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from celery import beat
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from zenith import registry
from zenith.celery import app
from zenith.registry import LiveTopic

APP_ENTRIES = {
    "telemetry-rollup": ("telemetry.rollup", 30.0),
    "telemetry-retention": ("telemetry.retention", 3600.0),
    "scheduling.refresh_passes": ("scheduling.refresh_passes", 300.0),
    "scheduling.dispatch_contacts": (
        "scheduling.dispatch_contacts",
        float(settings.ZENITH_DISPATCH_EVERY_S),
    ),
    "scheduling.replan_contacts": (
        "scheduling.replan_contacts",
        float(settings.ZENITH_REPLAN_EVERY_S),
    ),
}


def _beat_sees() -> dict[str, tuple[str, float]]:
    """The schedule a beat process builds from the app's configuration."""
    scheduler = beat.Scheduler(app=app)
    return {
        name: (entry.task, entry.schedule.run_every.total_seconds())
        for name, entry in scheduler.schedule.items()
    }


def test_every_app_registers_its_beat_entries_and_their_tasks_exist() -> None:
    seen = _beat_sees()
    for name, expected in APP_ENTRIES.items():
        assert seen.get(name) == expected, name
        assert registry.periodic_entries()[name] == {
            "task": expected[0],
            "schedule": expected[1],
        }
    app.loader.import_default_modules()  # what a worker does: autodiscovered tasks.py
    assert {task for task, _ in APP_ENTRIES.values()} <= set(app.tasks)


@pytest.mark.usefixtures("scratch_registry")
def test_periodic_puts_the_entry_into_the_beat_schedule() -> None:
    registry.periodic("test.ping", task="zenith.ping", every_s=12)
    assert app.conf.beat_schedule["test.ping"] == {"task": "zenith.ping", "schedule": 12.0}
    assert _beat_sees()["test.ping"] == ("zenith.ping", 12.0)
    assert registry.periodic_entries()["test.ping"] == {"task": "zenith.ping", "schedule": 12.0}


@pytest.fixture
def probe() -> Callable[..., tuple[int, dict[str, Any]]]:
    def get(client: Client | APIClient) -> tuple[int, dict[str, Any]]:
        response = client.get("/healthz")
        return response.status_code, response.json()["checks"]

    return get


def _failing() -> dict[str, Any]:
    return {"ok": False, "error": "unreachable"}


def _raising() -> dict[str, Any]:
    raise ConnectionRefusedError("nothing listens")


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_registry")
def test_check_runs_only_while_when_holds(
    client: Client, probe: Callable[..., tuple[int, dict[str, Any]]]
) -> None:
    configured = {"now": False}
    runs: list[int] = []

    def check() -> dict[str, Any]:
        runs.append(1)
        return _failing()

    registry.health_check("test.gated", check, required=True, when=lambda: configured["now"])
    status, checks = probe(client)
    assert status == 200 and "test.gated" not in checks and runs == []
    configured["now"] = True  # read on every probe: a setting may change at runtime
    status, checks = probe(client)
    assert status == 503 and checks["test.gated"] == {"ok": False, "required": True}
    assert runs == [1]
    configured["now"] = False
    assert probe(client)[0] == 200 and runs == [1]


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_registry")
def test_non_required_checks_never_fail_the_probe(
    client: Client,
    client_with_token: Callable[..., APIClient],
    probe: Callable[..., tuple[int, dict[str, Any]]],
    settings: Any,
) -> None:
    # Short, but not so short that the real database, Redis and broker checks miss it.
    settings.ZENITH_HEALTH_TIMEOUT_S = 0.8
    released = threading.Event()

    def hanging() -> dict[str, Any]:
        released.wait(5)
        return {"ok": True}

    optional = ("test.optional_failing", "test.optional_raising", "test.optional_hanging")
    registry.health_check(optional[0], _failing, required=False)
    registry.health_check(optional[1], _raising, required=False)
    registry.health_check(optional[2], hanging, required=False)
    status, checks = probe(client_with_token("admin"))
    released.set()
    assert status == 200, checks
    assert all(checks[name]["ok"] is False and not checks[name]["required"] for name in optional)
    assert "ConnectionRefusedError" in checks["test.optional_raising"]["error"]
    assert "timed out" in checks["test.optional_hanging"]["error"]

    registry.health_check("test.required_failing", _failing)  # required by default
    status, checks = probe(client)
    assert status == 503
    assert checks["test.required_failing"] == {"ok": False, "required": True}
    assert checks["test.optional_failing"] == {"ok": False, "required": False}


@pytest.mark.usefixtures("scratch_registry")
def test_live_topic_refuses_one_name_registered_twice_differently() -> None:
    topic = LiveTopic("test.things", keyed_by="thing")
    assert registry.live_topic(topic) is topic
    assert registry.live_topic(LiveTopic("test.things", keyed_by="thing")) is not None  # same
    with pytest.raises(ValueError, match="registered twice"):
        registry.live_topic(LiveTopic("test.things", keyed_by="thing", auto=True))
    assert [t for t in registry.live_topics() if t.name == "test.things"] == [topic]


def test_registered_topics_are_the_ones_apps_declare() -> None:
    topics = {t.name: t for t in registry.live_topics()}
    # scratch_registry undid what the tests above registered.
    assert not [name for name in topics if name.startswith("test.")]
    assert not [e.name for e in registry.health_checks() if e.name.startswith("test.")]
    assert not [name for name in app.conf.beat_schedule if name.startswith("test.")]
    assert {"console.fleet", "telemetry.fleet", "telemetry.node"} <= set(topics)
    assert {"scheduling.transfers", "scheduling.contacts"} <= set(topics)
    assert topics["telemetry.node"].keyed_by == "node"
    assert topics["telemetry.node"].group("leo-001") == "telemetry.node.leo-001"
    assert topics["telemetry.fleet"].group() == "telemetry.fleet"


@pytest.mark.parametrize(
    "key",
    ["leo-001", "a", "0", "geo-hub-2", "a" * 64],  # 64: the longest spacecraft slug
)
def test_live_topic_accepts_slugs(key: str) -> None:
    assert LiveTopic("test.things", keyed_by="thing").accepts(key)


@pytest.mark.parametrize(
    "key",
    [
        "LEO-001",
        "leo.001",
        "telemetry.node.leo-001",
        "a" * 65,
        "leo-001\n",  # \\Z, not $: a trailing newline is not a slug
        "\nleo-001",
        "",
        "-leo",
        "leo-",
        "leo_001",
        "leo 001",
        "léo",
        "*",
        None,
        7,
        ["leo-001"],
    ],
)
def test_live_topic_refuses_keys_that_are_not_slugs(key: object) -> None:
    assert not LiveTopic("test.things", keyed_by="thing").accepts(key)


@pytest.mark.usefixtures("scratch_registry")
def test_an_app_cannot_replace_the_wirings_own_checks() -> None:
    for name in ("database", "channel_layer", "broker"):
        with pytest.raises(ValueError, match="wiring's own"):
            registry.health_check(name, _failing, required=False)


@pytest.mark.django_db
@pytest.mark.usefixtures("scratch_registry")
def test_a_when_that_raises_reports_its_check_instead_of_failing_the_probe(
    client: Client, probe: Callable[..., tuple[int, dict[str, Any]]]
) -> None:
    def broken_when() -> bool:
        raise RuntimeError("settings unreadable")

    registry.health_check("test.broken_when", _failing, when=broken_when)
    status, checks = probe(client)
    assert status == 503 and checks["test.broken_when"] == {"ok": False, "required": True}
