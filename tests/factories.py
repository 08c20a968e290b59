"""Deterministic test data: the same inputs every run, no randomness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from ops.fleet import services
from ops.fleet.models import GroundStation, Spacecraft
from orbital.tle import checksum


def _with_checksum(line68: str) -> str:
    return line68 + str(checksum(line68))


# ISS (ZARYA), the classic example from the SGP4 literature; checksums valid.
ISS_LINE1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_LINE2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
# A later ISS set (different epoch, same catalog number).
ISS2_LINE1 = _with_checksum("1 25544U 98067A   08265.51782528 -.00002182  00000-0 -11606-4 0  293")
ISS2_LINE2 = _with_checksum("2 25544  51.6416 246.4627 0006703 130.5360 325.0288 15.7212539156369")
EPOCH = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def make_spacecraft(slug: str = "leo-001", **overrides: Any) -> Spacecraft:
    values: dict[str, Any] = {"slug": slug, "name": slug.upper(), "role": "leo"}
    values.update(overrides)
    return services.spacecraft_create(**values)


def make_station(slug: str = "svalbard", **overrides: Any) -> GroundStation:
    values: dict[str, Any] = {
        "slug": slug,
        "name": slug.title(),
        "latitude_deg": 78.23,
        "longitude_deg": 15.41,
        "altitude_m": 500.0,
        "min_elevation_deg": 5.0,
    }
    values.update(overrides)
    return services.station_create(**values)


def make_user(username: str, *roles: str, password: str = "correct-horse-battery") -> Any:
    user = get_user_model().objects.create_user(username=username, password=password)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_token(*scopes: str, name: str = "t", account: str = "svc", **kwargs: Any) -> str:
    acct = services.service_account_get_or_create(name=account)
    return services.token_create(account=acct, name=name, scopes=scopes, **kwargs).secret
