"""Scopes and roles: one place that says who may do what.

Tokens carry scopes. People carry roles (Django groups), each granting scopes, so
an endpoint checks one thing whatever the caller is. ``admin`` implies every scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ops.fleet.models import Scope

ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": ALL_SCOPES,
    "operator": frozenset({Scope.OPERATE.value}),
    "oncall": frozenset({Scope.OPERATE.value}),
    "scheduler": frozenset({Scope.SCHEDULE.value}),
}

# Django admin permissions per role, as (app_label, model, actions).
ROLE_ADMIN_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "admin": [
        ("fleet", model, ("view", "add", "change", "delete"))
        for model in (
            "spacecraft",
            "orbitset",
            "groundstation",
            "maintenancewindow",
            "serviceaccount",
            "apitoken",
        )
    ]
    # People and their roles are managed by superusers: a role that may edit users could
    # make itself superuser.
    + [("auth", "user", ("view",)), ("auth", "group", ("view",))],
    "operator": [
        ("fleet", "spacecraft", ("view",)),
        ("fleet", "orbitset", ("view",)),
        ("fleet", "groundstation", ("view",)),
        ("fleet", "maintenancewindow", ("view", "add", "change", "delete")),
    ],
    "oncall": [
        ("fleet", "spacecraft", ("view",)),
        ("fleet", "groundstation", ("view",)),
        ("fleet", "maintenancewindow", ("view",)),
    ],
    "scheduler": [
        ("fleet", "spacecraft", ("view",)),
        ("fleet", "orbitset", ("view", "add")),
        ("fleet", "groundstation", ("view",)),
        ("fleet", "maintenancewindow", ("view",)),
    ],
}


def expand(scopes: Iterable[str]) -> frozenset[str]:
    granted = frozenset(scopes)
    return ALL_SCOPES if Scope.ADMIN.value in granted else granted


def scopes_for_user(user: Any) -> frozenset[str]:
    """Scopes a signed-in person holds through their roles."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return ALL_SCOPES
    names = getattr(user, "_zenith_roles", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._zenith_roles = names
    granted: set[str] = set()
    for name in names:
        granted |= ROLE_SCOPES.get(name, frozenset())
    return expand(granted)
