"""Rule and tag edits: checked whole (every bad field named), audited with a diff, and
the rule-set version bumped so every process recompiles before its next ingest."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ops.alerts import limits
from ops.alerts.exceptions import InvalidRule
from ops.alerts.models import Rule, RuleSetVersion, RuleState, SpacecraftTag
from ops.alerts.services.audit import audit_record
from ops.fleet.models import SLUG_VALIDATOR, Role, Spacecraft

# The fields a rule is made of (what the API, the admin and YAML files set).
RULE_FIELDS = (
    "name",
    "description",
    "metric",
    "scope",
    "spacecraft",
    "role",
    "tag",
    "condition",
    "levels",
    "clear_low",
    "clear_high",
    "hold_s",
    "hold_samples",
    "no_data_s",
    "severity",
    "latching",
    "runbook_url",
    "los_policy",
    "escalation_policy",
    "enabled",
)
DEFAULTS: dict[str, Any] = {
    "description": "",
    "scope": "all",
    "spacecraft": None,
    "role": "",
    "tag": "",
    "levels": [],
    "clear_low": None,
    "clear_high": None,
    "hold_s": 0.0,
    "hold_samples": 1,
    "no_data_s": None,
    "severity": "warning",
    "latching": False,
    "runbook_url": "",
    "los_policy": "notify",
    "escalation_policy": None,
    "enabled": True,
}


def rule_errors(values: dict[str, Any]) -> dict[str, str]:
    """Every problem with a complete set of rule values, by field."""
    errors = limits.check_rule(
        metric=values.get("metric") or "",
        condition=values.get("condition") or "",
        levels=values.get("levels"),
        clear_low=values.get("clear_low"),
        clear_high=values.get("clear_high"),
        hold_s=values.get("hold_s", 0.0),
        hold_samples=values.get("hold_samples", 1),
        no_data_s=values.get("no_data_s"),
    )
    if not values.get("name"):
        errors["name"] = "required"
    scope = values.get("scope")
    if scope == "spacecraft" and values.get("spacecraft") is None:
        errors["spacecraft"] = "a spacecraft slug is required for scope 'spacecraft'"
    elif scope == "role" and values.get("role") not in Role.values:
        errors["role"] = f"must be one of {', '.join(Role.values)} for scope 'role'"
    elif scope == "tag" and not values.get("tag"):
        errors["tag"] = "a tag is required for scope 'tag'"
    elif scope not in ("all", "spacecraft", "role", "tag"):
        errors["scope"] = "must be one of all, spacecraft, role, tag"
    if values.get("severity") not in limits.RANK:
        errors["severity"] = f"must be one of {', '.join(limits.SEVERITIES)}"
    if values.get("los_policy") not in ("notify", "record"):
        errors["los_policy"] = "must be notify or record"
    return errors


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Fields that do not apply to the scope are emptied, so a rule says one thing."""
    out = dict(values)
    scope = out.get("scope")
    if scope != "spacecraft":
        out["spacecraft"] = None
    if scope != "role":
        out["role"] = ""
    if scope != "tag":
        out["tag"] = ""
    return out


def _snapshot(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in RULE_FIELDS:
        value = getattr(rule, name)
        if isinstance(value, Spacecraft):
            value = value.slug
        elif hasattr(value, "name") and name == "escalation_policy":
            value = value.name
        out[name] = value
    return out


def _bump() -> None:
    # A random version, not a counter: a rolled-back edit must never leave another
    # transaction's rules cached under a version number that comes round again.
    RuleSetVersion.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})


def _check(values: dict[str, Any]) -> None:
    errors = rule_errors(values)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidRule(f"{first[0]}: {first[1]}", fields=errors)


def rule_create(
    *, key: str, values: dict[str, Any], actor: str, now: datetime | None = None
) -> Rule:
    now = now or timezone.now()
    full = _normalise({**DEFAULTS, **values})
    errors = rule_errors(full)
    try:
        SLUG_VALIDATOR(key)
    except Exception:
        errors["key"] = "lowercase letters, digits and hyphens"
    if Rule.objects.filter(key=key).exists():
        errors["key"] = f"a rule {key!r} exists already"
    if errors:
        first = next(iter(errors.items()))
        raise InvalidRule(f"{first[0]}: {first[1]}", fields=errors)
    with transaction.atomic():
        rule = Rule.objects.create(key=key, updated_by=actor, **full)
        _bump()
        audit_record(
            at=now,
            actor=actor,
            action="rule.created",
            rule_key=key,
            detail={"after": _jsonable(_snapshot(rule))},
        )
    return rule


def rule_update(
    *,
    rule: Rule,
    values: dict[str, Any],
    actor: str,
    comment: str = "",
    now: datetime | None = None,
) -> tuple[Rule, bool]:
    """Apply ``values`` (a partial edit); ``(rule, changed)``. An unchanged rule is not
    written, audited or recompiled (YAML imports are idempotent)."""
    now = now or timezone.now()
    before = _snapshot(rule)
    current = {name: getattr(rule, name) for name in RULE_FIELDS}
    full = _normalise({**current, **values})
    _check(full)
    changed = {k: v for k, v in full.items() if current[k] != v}
    if not changed:
        return rule, False
    with transaction.atomic():
        for name, value in full.items():
            setattr(rule, name, value)
        rule.updated_by = actor
        rule.save()
        if {"metric", "scope", "spacecraft", "role", "tag", "condition", "enabled"} & set(changed):
            # What the pair states were about may no longer hold: start pending ones over.
            RuleState.objects.filter(rule=rule, alert__isnull=True).delete()
        _bump()
        after = _snapshot(rule)
        audit_record(
            at=now,
            actor=actor,
            action="rule.updated",
            rule_key=rule.key,
            comment=comment,
            detail={
                "before": _jsonable({k: before[k] for k in changed}),
                "after": _jsonable({k: after[k] for k in changed}),
            },
        )
    return rule, True


def rule_delete(*, rule: Rule, actor: str, comment: str = "", now: datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        snapshot = _snapshot(rule)
        key = rule.key
        rule.delete()
        _bump()
        audit_record(
            at=now,
            actor=actor,
            action="rule.deleted",
            rule_key=key,
            comment=comment,
            detail={"before": _jsonable(snapshot)},
        )


def spacecraft_tags_set(
    *, spacecraft: Spacecraft, tags: list[str], actor: str, now: datetime | None = None
) -> list[str]:
    now = now or timezone.now()
    wanted = sorted(set(tags))
    for tag in wanted:
        try:
            SLUG_VALIDATOR(tag)
        except Exception:
            raise InvalidRule(f"bad tag {tag!r}", fields={"tags": f"bad tag {tag!r}"}) from None
    with transaction.atomic():
        SpacecraftTag.objects.filter(spacecraft=spacecraft).exclude(tag__in=wanted).delete()
        for tag in wanted:
            SpacecraftTag.objects.get_or_create(spacecraft=spacecraft, tag=tag)
        _bump()
        audit_record(
            at=now,
            actor=actor,
            action="tags.set",
            spacecraft=spacecraft.slug,
            detail={"tags": wanted},
        )
    return wanted


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool | list | dict | None) else str(v))
        for k, v in values.items()
    }


def rules_apply(
    *, specs: list[tuple[str, dict[str, Any]]], actor: str, comment: str = ""
) -> dict[str, list[str]]:
    """Create or update rules by key, all in one transaction (a file is applied whole or
    not at all); unchanged rules are not touched, so applying twice changes nothing."""
    done: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    with transaction.atomic():
        for key, values in specs:
            current = Rule.objects.select_for_update().filter(key=key).first()
            if current is None:
                rule_create(key=key, values=values, actor=actor)
                done["created"].append(key)
                continue
            _rule, changed = rule_update(rule=current, values=values, actor=actor, comment=comment)
            done["updated" if changed else "unchanged"].append(key)
    return done
