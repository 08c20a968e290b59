"""Bearer-token authentication for the REST API (and anything else that reads headers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ops.edge.access import expand
from ops.fleet import tokencache
from ops.fleet.models import ApiToken
from ops.fleet.selectors import token_for_secret, token_spacecraft_ids
from ops.fleet.services import token_touch
from ops.fleet.tokens import hash_token


@dataclass
class ServicePrincipal:
    """``request.user`` for a token: the service account, with the token's scopes."""

    token: ApiToken
    scopes: frozenset[str]
    spacecraft_ids: frozenset[int] | None
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    groups: Any = field(default=None)

    @property
    def username(self) -> str:
        return f"svc:{self.token.account.name}/{self.token.name}"

    @property
    def pk(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


# Verified tokens are cached per process for ZENITH_TOKEN_CACHE_S: ingest gateways send many
# small requests, and two queries per request would cost more than the write. Expiry is
# checked on every request; a revocation is seen at once by the process that made it and by
# the others within the cache time.


def principal_for_secret(secret: str) -> ServicePrincipal | None:
    key = hash_token(secret)
    ttl = settings.ZENITH_TOKEN_CACHE_S
    now = timezone.now()
    cached = tokencache.get(key) if ttl > 0 else None
    if isinstance(cached, ServicePrincipal):
        principal = cached
        expires = principal.token.expires_at
        if expires is None or expires > now:
            token_touch(
                token=principal.token,
                now=now,
                resolution_s=settings.ZENITH_TOKEN_LAST_USED_RESOLUTION_S,
            )
            return principal
    token = token_for_secret(secret=secret)
    if token is None:
        tokencache.forget(key)
        return None
    token_touch(token=token, now=now, resolution_s=settings.ZENITH_TOKEN_LAST_USED_RESOLUTION_S)
    principal = ServicePrincipal(
        token=token,
        scopes=expand(token.scopes),
        spacecraft_ids=token_spacecraft_ids(token=token),
    )
    if ttl > 0:
        tokencache.put(key, principal, ttl)
    return principal


def bearer_secret(header: str) -> str | None:
    """The secret of ``Bearer <t>``, or of ``Token <t>`` as InfluxDB clients send it."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() not in ("bearer", "token"):
        return None
    return parts[1]


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        if not header.lower().startswith(("bearer", "token")):
            return None
        secret = bearer_secret(header)
        if secret is None:
            raise exceptions.AuthenticationFailed(
                "malformed Authorization header: use 'Bearer <token>'"
            )
        principal = principal_for_secret(secret)
        if principal is None:
            raise exceptions.AuthenticationFailed("token is unknown, revoked or expired")
        return principal, principal.token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="zenith"'
