"""Role groups and their Django-admin permissions, kept in step after every migrate."""

from __future__ import annotations

from typing import Any

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


def roles_sync(**_: Any) -> None:
    """Create the role groups and grant exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    for role, grants in ROLE_ADMIN_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted: list[Permission] = []
        for app_label, model, actions in grants:
            codenames = [f"{action}_{model}" for action in actions]
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
        group.permissions.set(wanted)
