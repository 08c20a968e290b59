"""Role groups and their Django-admin permissions, kept in step after every migrate."""

from __future__ import annotations

from typing import Any

from ops.fleet.access import ROLE_ADMIN_PERMISSIONS


def roles_sync(**_: Any) -> None:
    """Create the role groups and grant exactly the permissions ``access`` lists."""
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
