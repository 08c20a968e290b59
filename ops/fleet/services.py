"""Fleet writes. Keyword-only, typed; each validates fully before it writes anything."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ops.edge.access import ALL_SCOPES, check_unrestricted
from ops.fleet import tokencache
from ops.fleet.exceptions import (
    Conflict,
    InvalidElements,
    InvalidHorizonMask,
    InvalidTle,
    NotFound,
    ValidationFailed,
)
from ops.fleet.models import (
    ApiToken,
    GroundStation,
    MaintenanceWindow,
    OrbitKind,
    OrbitSet,
    ServiceAccount,
    Spacecraft,
)
from ops.fleet.tokens import hash_token, new_secret
from orbital.elements import ElementsError, check_elements, check_horizon_mask
from orbital.tle import Tle, TleError, parse_tle

# Writable fields, in display order (the API serializers and admin forms list them too).
SPACECRAFT_FIELDS = (
    "slug",
    "name",
    "norad_id",
    "role",
    "priority",
    "uplink_rate_bps",
    "downlink_rate_bps",
    "radios",
    "storage_bytes",
    "gpu_count",
    "gpu_model",
    "power_w",
    "active",
)
STATION_FIELDS = (
    "slug",
    "name",
    "latitude_deg",
    "longitude_deg",
    "altitude_m",
    "min_elevation_deg",
    "horizon_mask",
    "antennas",
    "uplink_rate_bps",
    "downlink_rate_bps",
    "setup_s",
    "turnaround_s",
    "active",
)


def _full_clean(instance: Any, *, exclude: Iterable[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude))
    except DjangoValidationError as exc:
        fields = {
            name: " ".join(str(m) for m in messages) for name, messages in exc.message_dict.items()
        }
        raise ValidationFailed("invalid fields", fields=fields) from None


def _apply(instance: Any, allowed: tuple[str, ...], values: dict[str, Any]) -> None:
    unknown = set(values).difference(allowed)
    if unknown:
        raise ValidationFailed(
            "unknown fields", fields={name: "is not a known field" for name in sorted(unknown)}
        )
    for name, value in values.items():
        setattr(instance, name, value)


# --- spacecraft ---------------------------------------------------------------


@transaction.atomic
def spacecraft_create(
    *, allowed_spacecraft_ids: frozenset[int] | None = None, **values: Any
) -> Spacecraft:
    """A new spacecraft. A caller restricted to some spacecraft (``allowed_spacecraft_ids``)
    may not add one: that would widen what it sees."""
    check_unrestricted(allowed_spacecraft_ids=allowed_spacecraft_ids, action="add spacecraft")
    craft = Spacecraft()
    _apply(craft, SPACECRAFT_FIELDS, values)
    _full_clean(craft)
    craft.save()
    return craft


@transaction.atomic
def spacecraft_update(*, spacecraft: Spacecraft, **values: Any) -> Spacecraft:
    craft = Spacecraft.objects.select_for_update().get(pk=spacecraft.pk)
    _apply(craft, SPACECRAFT_FIELDS, values)
    _full_clean(craft)
    craft.save()
    return craft


# --- orbit sets -----------------------------------------------------------------


def _content_hash(*parts: object) -> str:
    return hashlib.sha256("|".join(repr(p) for p in parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OrbitSetResult:
    orbit_set: OrbitSet
    created: bool


def _store_orbit_set(orbit_set: OrbitSet) -> OrbitSetResult:
    """Insert, or return the identical set already loaded (reloading is idempotent)."""
    existing = OrbitSet.objects.filter(
        spacecraft=orbit_set.spacecraft, content_sha256=orbit_set.content_sha256
    ).first()
    if existing is not None:
        return OrbitSetResult(existing, False)
    try:
        with transaction.atomic():
            orbit_set.save()
    except IntegrityError:
        # A concurrent loader stored the same content first.
        existing = OrbitSet.objects.get(
            spacecraft=orbit_set.spacecraft, content_sha256=orbit_set.content_sha256
        )
        return OrbitSetResult(existing, False)
    return OrbitSetResult(orbit_set, True)


def check_tle(*, line1: str, line2: str, name: str | None = None) -> Tle:
    try:
        return parse_tle(line1, line2, name)
    except TleError as exc:
        raise InvalidTle(exc.message, fields={exc.field: exc.message}) from None


@transaction.atomic
def orbit_set_load_tle(
    *, spacecraft: Spacecraft, line1: str, line2: str, source: str = "", loaded_by: str = ""
) -> OrbitSetResult:
    tle = check_tle(line1=line1, line2=line2)
    if spacecraft.norad_id is None:
        holder = Spacecraft.objects.filter(norad_id=tle.norad_id).exclude(pk=spacecraft.pk).first()
        if holder is not None:
            message = f"catalog number {tle.norad_id} belongs to spacecraft {holder.slug}"
            raise Conflict(message, fields={"line1": message})
    if spacecraft.norad_id is not None and spacecraft.norad_id != tle.norad_id:
        message = (
            f"catalog number {tle.norad_id} does not match "
            f"spacecraft NORAD id {spacecraft.norad_id}"
        )
        raise InvalidTle(message, fields={"line1": message})
    orbit_set = OrbitSet(
        spacecraft=spacecraft,
        kind=OrbitKind.TLE,
        epoch=tle.epoch,
        line1=tle.line1,
        line2=tle.line2,
        eccentricity=tle.eccentricity,
        inclination_deg=tle.inclination_deg,
        raan_deg=tle.raan_deg,
        arg_perigee_deg=tle.arg_perigee_deg,
        mean_anomaly_deg=tle.mean_anomaly_deg,
        mean_motion_rev_per_day=tle.mean_motion_rev_per_day,
        bstar=tle.bstar,
        content_sha256=_content_hash("tle", tle.line1, tle.line2),
        source=source[:255],
        loaded_by=loaded_by[:150],
    )
    result = _store_orbit_set(orbit_set)
    if spacecraft.norad_id is None:
        Spacecraft.objects.filter(pk=spacecraft.pk, norad_id__isnull=True).update(
            norad_id=tle.norad_id
        )
        spacecraft.norad_id = tle.norad_id
    return result


@transaction.atomic
def orbit_set_load_elements(
    *,
    spacecraft: Spacecraft,
    epoch: datetime | None,
    eccentricity: object,
    inclination_deg: object,
    raan_deg: object,
    arg_perigee_deg: object,
    true_anomaly_deg: object,
    semi_major_axis_km: object = None,
    altitude_km: object = None,
    source: str = "",
    loaded_by: str = "",
) -> OrbitSetResult:
    try:
        elements = check_elements(
            epoch=epoch,
            eccentricity=eccentricity,
            inclination_deg=inclination_deg,
            raan_deg=raan_deg,
            arg_perigee_deg=arg_perigee_deg,
            true_anomaly_deg=true_anomaly_deg,
            semi_major_axis_km=semi_major_axis_km,
            altitude_km=altitude_km,
        )
    except ElementsError as exc:
        raise InvalidElements("invalid element set", fields=exc.fields) from None
    orbit_set = OrbitSet(
        spacecraft=spacecraft,
        kind=OrbitKind.ELEMENTS,
        epoch=elements.epoch,
        semi_major_axis_km=elements.semi_major_axis_km,
        eccentricity=elements.eccentricity,
        inclination_deg=elements.inclination_deg,
        raan_deg=elements.raan_deg,
        arg_perigee_deg=elements.arg_perigee_deg,
        true_anomaly_deg=elements.true_anomaly_deg,
        content_sha256=_content_hash(
            "elements",
            elements.epoch.isoformat(),
            elements.semi_major_axis_km,
            elements.eccentricity,
            elements.inclination_deg,
            elements.raan_deg,
            elements.arg_perigee_deg,
            elements.true_anomaly_deg,
        ),
        source=source[:255],
        loaded_by=loaded_by[:150],
    )
    return _store_orbit_set(orbit_set)


@dataclass(frozen=True, slots=True)
class TleImportResult:
    spacecraft: Spacecraft
    orbit_set: OrbitSet
    spacecraft_created: bool
    orbit_set_created: bool


def _slugify_name(name: str | None, norad_id: int) -> str:
    from django.utils.text import slugify

    base = slugify(name or "").replace("_", "-")[:50].strip("-")
    slug = f"{base}-{norad_id}" if base else f"norad-{norad_id}"
    candidate, n = slug, 1
    while Spacecraft.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


@transaction.atomic
def tle_import_one(*, tle: Tle, source: str, loaded_by: str = "") -> TleImportResult:
    """Find (by NORAD id) or create the spacecraft, then record the TLE as a new orbit set."""
    craft = Spacecraft.objects.select_for_update().filter(norad_id=tle.norad_id).first()
    created = False
    if craft is None:
        craft = Spacecraft.objects.create(
            slug=_slugify_name(tle.name, tle.norad_id),
            name=(tle.name or f"NORAD {tle.norad_id}")[:128],
            norad_id=tle.norad_id,
            # Mean motion under ~1.1 rev/day is geosynchronous-class.
            role="geo" if tle.mean_motion_rev_per_day < 1.1 else "leo",
        )
        created = True
    result = orbit_set_load_tle(
        spacecraft=craft, line1=tle.line1, line2=tle.line2, source=source, loaded_by=loaded_by
    )
    return TleImportResult(craft, result.orbit_set, created, result.created)


# --- ground stations ---------------------------------------------------------------


def _check_mask(values: dict[str, Any]) -> None:
    if "horizon_mask" in values:
        try:
            mask = check_horizon_mask(values["horizon_mask"])
        except ValueError as exc:
            raise InvalidHorizonMask(str(exc), fields={"horizon_mask": str(exc)}) from None
        values["horizon_mask"] = [[az, el] for az, el in mask]


@transaction.atomic
def station_create(**values: Any) -> GroundStation:
    _check_mask(values)
    station = GroundStation()
    _apply(station, STATION_FIELDS, values)
    _full_clean(station)
    station.save()
    return station


@transaction.atomic
def station_update(*, station: GroundStation, **values: Any) -> GroundStation:
    _check_mask(values)
    locked = GroundStation.objects.select_for_update().get(pk=station.pk)
    _apply(locked, STATION_FIELDS, values)
    _full_clean(locked)
    locked.save()
    return locked


@transaction.atomic
def maintenance_window_create(
    *,
    station: GroundStation,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    created_by: str = "",
) -> MaintenanceWindow:
    if ends_at <= starts_at:
        raise ValidationFailed(
            "window ends before it starts", fields={"ends_at": "must be after starts_at"}
        )
    # The station row is the lock: two concurrent requests cannot both see "no overlap".
    GroundStation.objects.select_for_update().filter(pk=station.pk).first()
    overlapping = MaintenanceWindow.objects.filter(
        station=station, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).first()
    if overlapping is not None:
        raise Conflict(
            f"overlaps maintenance window {overlapping.pk}",
            fields={"starts_at": f"overlaps window {overlapping.pk} ({overlapping})"},
        )
    window = MaintenanceWindow(
        station=station, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=created_by
    )
    _full_clean(window)
    window.save()
    return window


# --- service accounts and tokens ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; never stored


@transaction.atomic
def service_account_get_or_create(*, name: str, description: str = "") -> ServiceAccount:
    account = ServiceAccount.objects.filter(name=name).first()
    if account is not None:
        return account
    account = ServiceAccount(name=name, description=description)
    _full_clean(account)
    account.save()
    return account


@transaction.atomic
def token_create(
    *,
    account: ServiceAccount,
    name: str,
    scopes: Iterable[str],
    spacecraft: Iterable[Spacecraft] = (),
    expires_at: datetime | None = None,
    created_by: str = "",
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> IssuedToken:
    """A new token for ``account``; the secret is in the result once. A caller restricted to
    some spacecraft (``allowed_spacecraft_ids``) may not issue credentials."""
    check_unrestricted(allowed_spacecraft_ids=allowed_spacecraft_ids, action="issue tokens")
    scope_list = sorted(set(scopes))
    if not scope_list:
        raise ValidationFailed("no scopes", fields={"scopes": "give at least one scope"})
    unknown = [s for s in scope_list if s not in ALL_SCOPES]
    if unknown:
        raise ValidationFailed(
            "unknown scope",
            fields={
                "scopes": f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(ALL_SCOPES))}"
            },
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("already expired", fields={"expires_at": "must be in the future"})
    if ApiToken.objects.filter(account=account, name=name).exists():
        raise Conflict(
            f"account {account.name} already has a token named {name!r}",
            fields={"name": "already used by this account"},
        )
    secret = new_secret()
    crafts = list(spacecraft)
    token = ApiToken(
        restricted=bool(crafts),
        account=account,
        name=name,
        prefix=secret[:12],
        token_sha256=hash_token(secret),
        scopes=scope_list,
        expires_at=expires_at,
        created_by=created_by,
    )
    _full_clean(token, exclude=["spacecraft"])
    token.save()
    if crafts:
        token.spacecraft.set(crafts)
    return IssuedToken(token, secret)


@transaction.atomic
def token_issue(
    *,
    account_name: str,
    name: str,
    scopes: Iterable[str],
    spacecraft: Iterable[Spacecraft] = (),
    expires_at: datetime | None = None,
    created_by: str = "",
    allowed_spacecraft_ids: frozenset[int] | None = None,
) -> IssuedToken:
    """Create the service account if new and its token, both or neither (a restricted
    caller is refused before either is touched)."""
    check_unrestricted(allowed_spacecraft_ids=allowed_spacecraft_ids, action="issue tokens")
    account = service_account_get_or_create(name=account_name)
    return token_create(
        account=account,
        name=name,
        scopes=scopes,
        spacecraft=spacecraft,
        expires_at=expires_at,
        created_by=created_by,
        allowed_spacecraft_ids=allowed_spacecraft_ids,
    )


@transaction.atomic
def token_revoke(*, token_id: int, revoked_by: str = "") -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"token {token_id} does not exist")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = revoked_by[:150]
        token.save(update_fields=["revoked_at", "revoked_by"])
    # Evicted now and again after commit: a request in this process between the two would
    # otherwise re-cache the row as it was before the revocation committed.
    tokencache.forget(token.token_sha256)
    transaction.on_commit(lambda: tokencache.forget(token.token_sha256))
    return token


def token_touch(*, token: ApiToken, now: datetime, resolution_s: int) -> None:
    """Record use, at most once per ``resolution_s``: avoids a write on every request."""
    last = token.last_used_at
    if last is not None and (now - last).total_seconds() < resolution_s:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
