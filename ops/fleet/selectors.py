"""Fleet reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from ops.edge.access import only_allowed
from ops.fleet.models import ApiToken, GroundStation, OrbitSet, Spacecraft
from ops.fleet.tokens import hash_token

_Named = TypeVar("_Named", Spacecraft, GroundStation)


def spacecraft_list(
    *, allowed_spacecraft_ids: frozenset[int] | None = None
) -> QuerySet[Spacecraft]:
    """Spacecraft, each annotated with the epoch of its current orbit set."""
    newest = OrbitSet.objects.filter(spacecraft=OuterRef("pk")).order_by("-epoch", "-id")
    qs = Spacecraft.objects.annotate(
        current_orbit_epoch=Subquery(newest.values("epoch")[:1]),
        current_orbit_set_id=Subquery(newest.values("id")[:1]),
    )
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids, field="pk")


def spacecraft_with_orbit_sets() -> QuerySet[Spacecraft]:
    """Active spacecraft with at least one orbit set: what a prediction covers by default."""
    return Spacecraft.objects.filter(active=True, orbit_sets__isnull=False).distinct()


def _by_slugs(rows: QuerySet[_Named], slugs: Iterable[str]) -> tuple[list[_Named], list[str]]:
    wanted = list(slugs)
    found = {row.slug: row for row in rows.filter(slug__in=wanted)}
    return [found[s] for s in wanted if s in found], [s for s in wanted if s not in found]


def spacecraft_by_slugs(*, slugs: Iterable[str]) -> tuple[list[Spacecraft], list[str]]:
    """The spacecraft ``slugs`` name, in the order given, and the slugs that name none."""
    return _by_slugs(Spacecraft.objects.all(), slugs)


def stations_by_slugs(*, slugs: Iterable[str]) -> tuple[list[GroundStation], list[str]]:
    """The ground stations ``slugs`` name, in the order given, and the slugs that name none."""
    return _by_slugs(GroundStation.objects.all(), slugs)


def orbit_set_list(*, allowed_spacecraft_ids: frozenset[int] | None = None) -> QuerySet[OrbitSet]:
    qs = OrbitSet.objects.select_related("spacecraft")
    return only_allowed(qs, allowed_spacecraft_ids=allowed_spacecraft_ids)


def station_list() -> QuerySet[GroundStation]:
    return GroundStation.objects.prefetch_related("maintenance_windows")


def token_for_secret(*, secret: str) -> ApiToken | None:
    """The live token for a presented secret, or None (unknown, revoked, expired, inactive)."""
    token = (
        ApiToken.objects.select_related("account").filter(token_sha256=hash_token(secret)).first()
    )
    if token is None or token.revoked_at is not None or not token.account.active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return token


def token_spacecraft_ids(*, token: ApiToken) -> frozenset[int] | None:
    """The spacecraft a token is restricted to (possibly none left), or None if unrestricted."""
    if not token.restricted:
        return None
    return frozenset(token.spacecraft.values_list("pk", flat=True))


def token_list() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("account").prefetch_related("spacecraft")
