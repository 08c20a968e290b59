"""Scopes and roles: one place that says who may do what, and who the caller is.

Tokens carry scopes. People carry roles (Django groups), each granting scopes, so an
endpoint checks one thing whatever the caller is. ``admin`` implies every scope. A token
may also be restricted to some spacecraft: services and selectors receive that restriction
(``allowed_spacecraft_ids``, ``None`` when there is none); services check it with
``check_spacecraft_allowed`` or ``check_unrestricted``, selectors narrow their rows with
``only_allowed``, so the rule holds wherever they are called from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from django.db import models
from django.db.models import QuerySet
from rest_framework.request import Request

from ops.edge.exceptions import DomainError


class Scope(models.TextChoices):
    INGEST = "ingest", "Ingest telemetry"
    SCHEDULE = "schedule", "Schedule passes, contacts and transfers"
    OPERATE = "operate", "Operate: read everything, act on transfers, stations and alerts"
    ADMIN = "admin", "Administer the fleet and tokens"


_Row = TypeVar("_Row", bound=models.Model)

ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": ALL_SCOPES,
    "operator": frozenset({Scope.OPERATE.value}),
    "oncall": frozenset({Scope.OPERATE.value}),
    "scheduler": frozenset({Scope.SCHEDULE.value}),
}


@runtime_checkable
class Principal(Protocol):
    """A machine caller (``request.user`` for a token): its scopes and, when the token is
    restricted, the spacecraft it may touch."""

    scopes: frozenset[str]
    spacecraft_ids: frozenset[int] | None


class Labelled(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def slug(self) -> str: ...


class NeedsUnrestrictedToken(DomainError):
    """The action touches every spacecraft (or issues credentials): a token restricted to
    some spacecraft may not do it."""

    code = "permission_denied"
    status = 403


def expand(scopes: Iterable[str]) -> frozenset[str]:
    granted = frozenset(scopes)
    return ALL_SCOPES if Scope.ADMIN.value in granted else granted


def scopes_for_user(user: Any) -> frozenset[str]:
    """Scopes a signed-in person holds through their roles (a principal: its own)."""
    if isinstance(user, Principal):
        return user.scopes
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


def request_scopes(request: Request) -> frozenset[str]:
    return scopes_for_user(request.user)


def request_spacecraft_ids(request: Request) -> frozenset[int] | None:
    """The spacecraft the caller is restricted to, or ``None`` (people: never restricted)."""
    user = request.user
    if isinstance(user, Principal):
        return user.spacecraft_ids
    return None


def actor_name(request: Request) -> str:
    """Who acted, for histories and audit: a username or ``svc:<account>/<token>``."""
    user = request.user
    return str(getattr(user, "username", "") or "")


def check_spacecraft_allowed(
    *,
    allowed_spacecraft_ids: frozenset[int] | None,
    spacecraft: Iterable[Labelled],
    error: type[DomainError],
    field: str = "spacecraft",
    detail: str = "spacecraft outside this token",
) -> None:
    """Raise ``error`` naming every spacecraft outside the token's restriction.

    Checked before anything about the spacecraft is revealed, so a restricted token cannot
    probe the rest of the fleet through error messages."""
    if allowed_spacecraft_ids is None:
        return
    outside = [craft.slug for craft in spacecraft if craft.pk not in allowed_spacecraft_ids]
    if outside:
        raise error(detail, fields={field: f"not allowed: {', '.join(outside)}"})


def check_unrestricted(*, allowed_spacecraft_ids: frozenset[int] | None, action: str) -> None:
    """Actions that touch the whole fleet (or mint credentials) need an unrestricted token."""
    if allowed_spacecraft_ids is not None:
        raise NeedsUnrestrictedToken(f"{action}: needs a token not restricted to spacecraft")


def only_allowed(
    rows: QuerySet[_Row],
    *,
    allowed_spacecraft_ids: frozenset[int] | None,
    field: str = "spacecraft_id",
) -> QuerySet[_Row]:
    """``rows`` narrowed to the spacecraft a restricted caller may see (``field`` holds the
    spacecraft id: ``"pk"`` for spacecraft themselves); all of them when unrestricted."""
    if allowed_spacecraft_ids is None:
        return rows
    return rows.filter(**{f"{field}__in": allowed_spacecraft_ids})
