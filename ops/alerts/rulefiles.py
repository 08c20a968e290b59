"""Rules as YAML: reading a file into checked rule values (every problem named with its
file, line and field) and writing the rules out. The file is one mapping ``rules:`` with a
list of rules, each keyed by ``key``; fields as in the API (``spacecraft`` by slug,
``escalation_policy`` by name). Nothing here writes to the database.

Parsed with PyYAML's safe composer, so every value keeps the line it came from and no
YAML tag can build an object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ops.alerts.models import EscalationPolicy, Rule
from ops.alerts.services.rules import DEFAULTS, RULE_FIELDS, rule_errors
from ops.fleet.models import SLUG_VALIDATOR, Spacecraft

_BOOL = ("latching", "enabled")
_FLOAT = ("clear_low", "clear_high", "hold_s", "no_data_s")
_STR = (
    "name",
    "description",
    "metric",
    "scope",
    "role",
    "tag",
    "condition",
    "severity",
    "runbook_url",
    "los_policy",
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    key: str
    values: dict[str, Any]
    line: int


def _plain(
    node: yaml.Node, errors: dict[str, str], where: str, path: str, lines: dict[str, int]
) -> Any:
    """The Python value of ``node``, noting the line of every field and item in ``lines``
    (``rules[0].levels[1].high`` -> its line)."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in out:
                errors[f"{where}:{line}: {path}{key}"] = "listed twice"
            lines[f"{path}{key}"] = line
            out[key] = _plain(value_node, errors, where, f"{path}{key}.", lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            here = f"{path.rstrip('.')}[{index}]"
            lines[here] = item.start_mark.line + 1
            items.append(_plain(item, errors, where, f"{here}.", lines))
        return items
    try:
        return _scalar(node)
    except yaml.YAMLError as exc:  # a tag the safe loader refuses (!!python/object, ...)
        line = node.start_mark.line + 1
        errors[f"{where}:{line}: {path.rstrip('.')}"] = (
            f"not a plain value: {getattr(exc, 'problem', exc)}"
        )
        return None


def _line_of(field: str, lines: dict[str, int], default: int) -> int:
    """The line of the most precise part of ``field`` that the file has."""
    while field:
        if field in lines:
            return lines[field]
        cut = max(field.rfind("."), field.rfind("["))
        field = field[:cut] if cut > 0 else ""
    return default


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def parse(text: str, *, name: str) -> tuple[list[RuleSpec], dict[str, str]]:
    """``(specs, errors)``: errors keyed ``file:line: field``; specs only if none."""
    errors: dict[str, str] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], {f"{name}:{line}: (syntax)": str(getattr(exc, "problem", exc))}
    if root is None:
        return [], {}
    if not isinstance(root, yaml.MappingNode):
        return [], {f"{name}:1: rules": "the file must be a mapping with a 'rules' list"}
    top = {str(k.value): v for k, v in root.value}
    unknown = sorted(set(top) - {"rules"})
    for key in unknown:
        errors[f"{name}:1: {key}"] = "unknown top-level field (expected 'rules')"
    rules_node = top.get("rules")
    if not isinstance(rules_node, yaml.SequenceNode):
        line = rules_node.start_mark.line + 1 if rules_node is not None else 1
        errors[f"{name}:{line}: rules"] = "a list of rules"
        return [], errors
    policies = dict(EscalationPolicy.objects.values_list("name", "pk"))
    craft = {s.slug: s for s in Spacecraft.objects.all()}
    specs: list[RuleSpec] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(rules_node.value):
        at = f"rules[{index}]"
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            errors[f"{name}:{line}: {at}"] = "a mapping of rule fields"
            continue
        lines: dict[str, int] = {}
        before = len(errors)
        raw = _plain(node, errors, name, f"{at}.", lines)
        if len(errors) > before:
            continue  # unreadable values: checking the rest would only repeat them
        problems = _check(raw, craft, policies)
        for field, message in problems.items():
            errors[f"{name}:{_line_of(f'{at}.{field}', lines, line)}: {at}.{field}"] = message
        key = raw.get("key")
        if isinstance(key, str):
            if key in seen:
                errors[f"{name}:{lines.get(f'{at}.key', line)}: {at}.key"] = (
                    f"{key!r} is also the key of the rule at line {seen[key]}"
                )
            seen[key] = line
        if not problems:
            specs.append(RuleSpec(str(key), _values(raw, craft, policies), line))
    return ([] if errors else specs), errors


def _check(
    raw: dict[str, Any], craft: dict[str, Spacecraft], policies: dict[str, int]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    key = raw.get("key")
    if not isinstance(key, str):
        errors["key"] = "required: the rule's key (a slug)"
    else:
        try:
            SLUG_VALIDATOR(key)
        except Exception:
            errors["key"] = "lowercase letters, digits and hyphens"
    for field in sorted(set(raw) - {"key", *RULE_FIELDS}):
        errors[field] = "unknown field"
    for field in _BOOL:
        if field in raw and not isinstance(raw[field], bool):
            errors[field] = "true or false"
    for field in _FLOAT:
        value = raw.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            errors[field] = "a number"
    for field in _STR:
        if field in raw and not isinstance(raw[field], str):
            errors[field] = "a string"
    if "hold_samples" in raw and (
        isinstance(raw["hold_samples"], bool) or not isinstance(raw["hold_samples"], int)
    ):
        errors["hold_samples"] = "a whole number"
    if raw.get("spacecraft") is not None and raw.get("spacecraft") not in craft:
        errors["spacecraft"] = f"unknown spacecraft {raw.get('spacecraft')!r}"
    policy = raw.get("escalation_policy")
    if policy is not None and policy not in policies:
        errors["escalation_policy"] = f"unknown escalation policy {policy!r}"
    if errors:
        return errors
    return rule_errors(_values(raw, craft, policies))


def _values(
    raw: dict[str, Any], craft: dict[str, Spacecraft], policies: dict[str, int]
) -> dict[str, Any]:
    values = {**DEFAULTS, **{k: v for k, v in raw.items() if k in RULE_FIELDS}}
    for field in _FLOAT:
        if values.get(field) is not None:
            values[field] = float(values[field])
    values["spacecraft"] = craft.get(str(raw["spacecraft"])) if raw.get("spacecraft") else None
    policy = raw.get("escalation_policy")
    values["escalation_policy"] = (
        EscalationPolicy.objects.get(pk=policies[policy]) if policy else None
    )
    return values


def read(path: Path) -> tuple[list[RuleSpec], dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], {f"{path}:0: (file)": str(exc)}
    return parse(text, name=str(path))


def dump(rules: list[Rule]) -> str:
    """The rules as a YAML document ``import`` reads back unchanged."""
    items: list[dict[str, Any]] = []
    for rule in rules:
        item: dict[str, Any] = {"key": rule.key}
        for field in RULE_FIELDS:
            value = getattr(rule, field)
            if field == "spacecraft":
                value = rule.spacecraft.slug if rule.spacecraft else None
            elif field == "escalation_policy":
                value = rule.escalation_policy.name if rule.escalation_policy else None
            if value == DEFAULTS.get(field, object()) and field not in ("scope", "enabled"):
                continue
            item[field] = value
        items.append(item)
    return yaml.safe_dump({"rules": items}, sort_keys=False, allow_unicode=True)
