"""Role groups and their Django-admin permissions, kept in step after every migrate."""

from __future__ import annotations

from typing import Any

Grant = tuple[str, str, tuple[str, ...]]  # app label, model, actions

ALL = ("view", "add", "change", "delete")
# Alerts in the admin. Alerts change only through their actions (console, API); the audit
# (append-only in PostgreSQL), notifications and deliveries are records. Their admin pages
# are read-only, so every role holds at most "view" on them: the permission table says
# what is possible. Rule and tag edits go through ops.alerts' services (checked whole,
# audited): the admin is a natural place for them.
ALERT_RECORDS = ("alert", "auditentry", "notification", "delivery", "deliveryattempt")
ALERT_RULES = ("rule", "spacecrafttag")
ALERT_ROUTING = ("escalationpolicy", "escalationstep", "channel")
ALERT_ONCALL = ("schedule", "rotation", "override")


def _alerts(*grants: tuple[tuple[str, ...], tuple[str, ...]]) -> list[Grant]:
    return [("alerts", model, actions) for models, actions in grants for model in models]


# Django admin permissions per role, as (app_label, model, actions).
#
# Alerts: admins hold everything editable, routing included (only they: channels hold
# webhook secrets, policies the keys external senders page with, and a mistake there
# silences everyone).
# Operators own the rule set (rules and tags) and the on-call rota (schedules, rotations,
# overrides). The on-call engineer reads everything but channels (their secrets) and
# records overrides (a shift handed to a colleague; changing a schedule is what editing
# its overrides inline takes), but does not edit rules: at 3 a.m. a noisy alert is
# shelved, with a time limit and in the audit, rather than its rule loosened.
ROLE_ADMIN_PERMISSIONS: dict[str, list[Grant]] = {
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
    + _alerts((ALERT_RECORDS, ("view",)), ((*ALERT_RULES, *ALERT_ROUTING, *ALERT_ONCALL), ALL))
    # People and their roles are managed by superusers: a role that may edit users could
    # make itself superuser.
    + [("auth", "user", ("view",)), ("auth", "group", ("view",))],
    "operator": [
        ("fleet", "spacecraft", ("view",)),
        ("fleet", "orbitset", ("view",)),
        ("fleet", "groundstation", ("view",)),
        ("fleet", "maintenancewindow", ("view", "add", "change", "delete")),
        *_alerts(
            ((*ALERT_RECORDS, "escalationpolicy", "escalationstep"), ("view",)),
            ((*ALERT_RULES, *ALERT_ONCALL), ALL),
        ),
    ],
    "oncall": [
        ("fleet", "spacecraft", ("view",)),
        ("fleet", "groundstation", ("view",)),
        ("fleet", "maintenancewindow", ("view",)),
        *_alerts(
            (
                (*ALERT_RECORDS, *ALERT_RULES, "escalationpolicy", "escalationstep", "rotation"),
                ("view",),
            ),
            (("schedule",), ("view", "change")),
            (("override",), ALL),
        ),
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
