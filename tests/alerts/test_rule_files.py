"""manage.py alert_rules: export and import as YAML, idempotent by key; a bad file is
refused whole with its file, line and field named, and nothing is stored."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from ops.alerts.models import AuditEntry, EscalationPolicy, Rule

pytestmark = pytest.mark.django_db

GOOD = """\
rules:
  - key: gpu-hot
    name: GPU hot
    metric: "gpu*_temp_c"
    condition: above
    levels:
      - {severity: warning, high: 80}
      - {severity: critical, high: 90}
    clear_high: 75
    hold_s: 30
    runbook_url: https://runbooks.example/gpu-hot
    escalation_policy: primary
  - key: soc-low
    name: Battery low
    metric: battery_soc
    condition: below
    scope: spacecraft
    spacecraft: leo-001
    levels: [{severity: distress, low: 0.2}]
    latching: true
"""


def run(*args: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("alert_rules", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_is_idempotent_and_export_round_trips(fleet: dict[str, Any], tmp_path: Path) -> None:
    EscalationPolicy.objects.create(name="primary")
    source = tmp_path / "rules.yaml"
    source.write_text(GOOD)
    assert run("import", str(source))[0].strip() == "2 created, 0 updated, 0 unchanged"
    rule = Rule.objects.get(key="gpu-hot")
    assert rule.levels[1] == {"severity": "critical", "high": 90}
    assert rule.escalation_policy.name == "primary" and rule.hold_s == 30.0
    assert Rule.objects.get(key="soc-low").spacecraft.slug == "leo-001"
    audit = AuditEntry.objects.filter(action__startswith="rule.").count()
    assert run("import", str(source))[0].strip() == "0 created, 0 updated, 2 unchanged"
    assert AuditEntry.objects.filter(action__startswith="rule.").count() == audit
    exported = tmp_path / "out.yaml"
    run("export", str(exported))
    assert run("import", str(exported))[0].strip() == "0 created, 0 updated, 2 unchanged"
    source.write_text(GOOD.replace("hold_s: 30", "hold_s: 60"))
    assert run("import", str(source))[0].strip() == "0 created, 1 updated, 1 unchanged"


def test_a_bad_file_is_refused_whole_naming_file_line_and_field(
    fleet: dict[str, Any], tmp_path: Path
) -> None:
    EscalationPolicy.objects.create(name="primary")
    bad = GOOD.replace("high: 90}", "high: 70}").replace(
        "spacecraft: leo-001", "spacecraft: leo-404"
    )
    bad += "  - key: gpu-hot\n    name: again\n    metric: x\n    condition: above\n"
    bad += "    levels: [{severity: warning, high: 1}]\n    colour: red\n"
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(CommandError, match="nothing imported"):
        run("import", str(path))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("alert_rules", "import", str(path), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert f"{path}:8: rules[0].levels[1].high: critical must be at or above 80.0" in lines
    assert f"{path}:18: rules[1].spacecraft: unknown spacecraft 'leo-404'" in lines
    assert f"{path}:21: rules[2].key: 'gpu-hot' is also the key of the rule at line 2" in lines
    assert f"{path}:26: rules[2].colour: unknown field" in lines
    assert not Rule.objects.exists()  # the good rule in the file was not stored either


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  {key: a\n", ":3: (syntax)"),
        ("- key: a\n", ":1: rules: the file must be a mapping"),
        (
            "rules:\n  - key: a\n    name: A\n    metric: m\n    condition: above\n"
            "    levels: [{severity: warning, high: 1}]\n    hold_samples: lots\n",
            ":7: rules[0].hold_samples: a whole number",
        ),
        (
            "rules:\n  - key: a\n    name: A\n    metric: m\n    condition: above\n"
            "    levels: [{severity: warning, high: !!python/object:os.system x}]\n",
            ":6: rules[0].levels[0].high: not a plain value",
        ),
    ],
)
def test_bad_yaml(fleet: dict[str, Any], tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("alert_rules", "import", str(path), stdout=io.StringIO(), stderr=err)
    assert expected in err.getvalue(), err.getvalue()
    assert not Rule.objects.exists()


def test_yaml_through_the_api(fleet: dict[str, Any], client_with_token: Any) -> None:
    EscalationPolicy.objects.create(name="primary")
    api = client_with_token("operate")
    r = api.post("/api/v1/alerts/rules/import", GOOD, content_type="application/yaml")
    assert r.status_code == 200 and sorted(r.json()["created"]) == ["gpu-hot", "soc-low"]
    again = api.post("/api/v1/alerts/rules/import", GOOD, content_type="application/yaml")
    assert sorted(again.json()["unchanged"]) == ["gpu-hot", "soc-low"]
    exported = api.get("/api/v1/alerts/rules/export")
    assert exported["Content-Type"] == "application/yaml" and b"key: gpu-hot" in exported.content
    bad = api.post(
        "/api/v1/alerts/rules/import",
        GOOD.replace("condition: below", "condition: low"),
        content_type="application/yaml",
    )
    assert bad.status_code == 400
    assert "request:16: rules[1].condition" in bad.json()["fields"]
