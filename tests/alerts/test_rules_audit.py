"""Rules through the API (bad ones refused whole, naming the field, nothing stored) and
the audit log: every change recorded, filterable, CSV, and append-only in PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from ops.alerts.models import AuditEntry, Rule
from tests.alerts.conftest import alerts_of, ingest

pytestmark = pytest.mark.django_db
Client = Callable[..., APIClient]

GOOD = {
    "key": "gpu-hot",
    "name": "GPU hot",
    "metric": "gpu*_temp_c",
    "condition": "above",
    "levels": [{"severity": "warning", "high": 80}, {"severity": "critical", "high": 90}],
    "clear_high": 75,
    "hold_samples": 2,
    "runbook_url": "https://runbooks.example/gpu-hot",
}


@pytest.fixture
def oncall(client_with_token: Client) -> APIClient:
    return client_with_token("operate", account="ops")


def test_create_edit_delete_a_rule_and_its_audit(fleet: dict[str, Any], oncall: APIClient) -> None:
    r = oncall.post("/api/v1/alerts/rules", GOOD, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["levels"][1] == {"severity": "critical", "high": 90.0}
    ingest("leo-001", [(0, 85), (1, 86)], metric="gpu3_temp_c")
    assert len(alerts_of("gpu-hot")) == 1  # the compiled rules saw the new rule at once
    r = oncall.patch(
        "/api/v1/alerts/rules/gpu-hot", {"hold_samples": 3, "comment": "flappy"}, format="json"
    )
    assert r.status_code == 200 and r.json()["hold_samples"] == 3
    same = oncall.patch("/api/v1/alerts/rules/gpu-hot", {"hold_samples": 3}, format="json")
    assert same.status_code == 200
    assert oncall.delete("/api/v1/alerts/rules/gpu-hot").status_code == 204
    assert not Rule.objects.filter(key="gpu-hot").exists()
    entries = list(
        AuditEntry.objects.filter(rule_key="gpu-hot", action__startswith="rule.").order_by("id")
    )
    assert [e.action for e in entries] == ["rule.created", "rule.updated", "rule.deleted"]
    assert entries[1].comment == "flappy"
    assert entries[1].detail == {"before": {"hold_samples": 2}, "after": {"hold_samples": 3}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"condition": "hotter"}, "condition"),
        ({"levels": [{"severity": "warning"}]}, "levels[0].high"),
        ({"levels": [{"severity": "loud", "high": 1}]}, "levels[0].severity"),
        ({"levels": [{"severity": "warning", "low": 3}]}, "levels[0].low"),
        (
            {"levels": [{"severity": "warning", "high": 90}, {"severity": "critical", "high": 80}]},
            "levels[1].high",
        ),
        ({"clear_high": 85}, "clear_high"),
        ({"metric": "GPU temp"}, "metric"),
        ({"scope": "spacecraft"}, "spacecraft"),
        ({"scope": "role", "role": "meo"}, "role"),
        ({"spacecraft": "nope", "scope": "spacecraft"}, "spacecraft"),
        ({"hold_samples": 0}, "hold_samples"),
        ({"key": "Bad Key"}, "key"),
        ({"condition": "no_data"}, "no_data_s"),
    ],
)
def test_bad_rules_are_refused_naming_the_field_and_nothing_is_stored(
    fleet: dict[str, Any], oncall: APIClient, change: dict[str, Any], field: str
) -> None:
    r = oncall.post("/api/v1/alerts/rules", {**GOOD, **change}, format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["fields"], r.json()
    assert not Rule.objects.exists()
    assert not AuditEntry.objects.filter(rule_key=GOOD["key"]).exists()


def test_a_bad_edit_changes_nothing(fleet: dict[str, Any], oncall: APIClient) -> None:
    oncall.post("/api/v1/alerts/rules", GOOD, format="json")
    r = oncall.patch("/api/v1/alerts/rules/gpu-hot", {"clear_high": 99}, format="json")
    assert r.status_code == 400 and "clear_high" in r.json()["fields"]
    assert Rule.objects.get(key="gpu-hot").clear_high == 75


def test_audit_filters_and_csv(fleet: dict[str, Any], oncall: APIClient) -> None:
    oncall.post("/api/v1/alerts/rules", GOOD, format="json")
    ingest("leo-001", [(0, 95), (1, 96)], metric="gpu0_temp_c")
    [alert] = alerts_of("gpu-hot")
    oncall.post(
        f"/api/v1/alerts/{alert.pk}/ack", {"comment": "on it, 'quoted', too"}, format="json"
    )
    acked = oncall.get(
        "/api/v1/alerts/audit", {"action": "alert.acknowledged", "alert": alert.pk}
    ).json()
    assert acked["count"] == 1 and acked["results"][0]["comment"] == "on it, 'quoted', too"
    prefix = oncall.get("/api/v1/alerts/audit", {"action": "alert", "alert": alert.pk}).json()
    assert [e["action"] for e in prefix["results"]] == ["alert.acknowledged", "alert.raised"]
    r = oncall.get("/api/v1/alerts/audit/csv", {"alert": alert.pk})
    assert r.status_code == 200 and r["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert [row["action"] for row in rows] == ["alert.raised", "alert.acknowledged"]
    assert rows[1]["comment"] == "on it, 'quoted', too" and rows[1]["spacecraft"] == "leo-001"
    bad = oncall.get("/api/v1/alerts/audit", {"alert": "x"})
    assert bad.status_code == 400 and "alert" in bad.json()["fields"]


def test_the_audit_cannot_be_changed_even_by_sql_from_the_apps_own_role(
    fleet: dict[str, Any],
) -> None:
    entry = AuditEntry.objects.create(at="2026-01-01T00:00:00Z", actor="x", action="test.kept")
    for statement in (
        "UPDATE alerts_audit SET actor = 'forged'",
        "DELETE FROM alerts_audit",
        "TRUNCATE alerts_audit",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.actor == "x"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == connection.settings_dict["USER"]
