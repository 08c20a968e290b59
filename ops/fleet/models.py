"""Fleet registry: spacecraft, their orbit sets, ground stations, API tokens."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
    "lowercase letters, digits and hyphens; starts and ends with a letter or digit",
)


class Role(models.TextChoices):
    LEO = "leo", "LEO compute node"
    GEO = "geo", "GEO hub"


class Spacecraft(models.Model):
    slug = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=128)
    norad_id = models.PositiveIntegerField(
        null=True,
        blank=True,
        unique=True,
        validators=[MinValueValidator(1), MaxValueValidator(339_999)],
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.LEO)
    priority = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="1 (lowest) to 10 (highest): weight in the contact plan",
    )
    uplink_rate_bps = models.BigIntegerField(default=50_000_000, validators=[MinValueValidator(1)])
    downlink_rate_bps = models.BigIntegerField(
        default=200_000_000, validators=[MinValueValidator(1)]
    )
    radios = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(8)],
        help_text="simultaneous ground links this spacecraft can hold",
    )
    storage_bytes = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    gpu_count = models.PositiveSmallIntegerField(default=0)
    gpu_model = models.CharField(max_length=64, blank=True)
    power_w = models.PositiveIntegerField(default=0, help_text="compute payload power budget, W")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "spacecraft"

    def __str__(self) -> str:
        return self.slug


class OrbitKind(models.TextChoices):
    TLE = "tle", "Two-line element set"
    ELEMENTS = "elements", "Classical elements"


class OrbitSet(models.Model):
    """One orbit determination, as loaded. Never edited: a new one is added instead."""

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="orbit_sets")
    kind = models.CharField(max_length=16, choices=OrbitKind.choices)
    epoch = models.DateTimeField(db_index=True)
    # TLE
    line1 = models.CharField(max_length=69, blank=True)
    line2 = models.CharField(max_length=69, blank=True)
    # classical elements (angles in degrees, distances in km)
    semi_major_axis_km = models.FloatField(null=True, blank=True)
    eccentricity = models.FloatField(null=True, blank=True)
    inclination_deg = models.FloatField(null=True, blank=True)
    raan_deg = models.FloatField(null=True, blank=True)
    arg_perigee_deg = models.FloatField(null=True, blank=True)
    true_anomaly_deg = models.FloatField(null=True, blank=True)
    mean_anomaly_deg = models.FloatField(null=True, blank=True)
    mean_motion_rev_per_day = models.FloatField(null=True, blank=True)
    bstar = models.FloatField(null=True, blank=True)
    # provenance
    content_sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=255, blank=True, help_text="file, URL or API client")
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["spacecraft_id", "-epoch", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spacecraft", "content_sha256"], name="orbitset_unique_content"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="tle", line1__regex=r"^1 .{67}$", line2__regex=r"^2 .{67}$")
                    | Q(
                        kind="elements",
                        semi_major_axis_km__isnull=False,
                        eccentricity__gte=0,
                        eccentricity__lt=1,
                        inclination_deg__gte=0,
                        inclination_deg__lte=180,
                    )
                ),
                name="orbitset_kind_fields",
            ),
        ]
        indexes = [models.Index(fields=["spacecraft", "-epoch"], name="orbitset_current")]

    def __str__(self) -> str:
        return f"{self.spacecraft_id}:{self.kind}@{self.epoch:%Y-%m-%dT%H:%M:%SZ}"


class GroundStation(models.Model):
    slug = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=128)
    latitude_deg = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude_deg = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    altitude_m = models.FloatField(
        default=0.0, validators=[MinValueValidator(-500), MaxValueValidator(9000)]
    )
    min_elevation_deg = models.FloatField(
        default=5.0, validators=[MinValueValidator(-5), MaxValueValidator(90)]
    )
    horizon_mask = models.JSONField(
        default=list,
        blank=True,
        help_text="[[azimuth_deg, elevation_deg], ...], azimuths increasing; "
        "the effective horizon is the higher of this and min_elevation_deg",
    )
    antennas = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    uplink_rate_bps = models.BigIntegerField(default=50_000_000, validators=[MinValueValidator(1)])
    downlink_rate_bps = models.BigIntegerField(
        default=200_000_000, validators=[MinValueValidator(1)]
    )
    setup_s = models.PositiveIntegerField(default=60, help_text="antenna setup before AOS, s")
    turnaround_s = models.PositiveIntegerField(default=120, help_text="between two contacts, s")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude_deg__gte=-90, latitude_deg__lte=90), name="station_lat_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude_deg__gte=-180, longitude_deg__lte=180),
                name="station_lon_range",
            ),
            models.CheckConstraint(
                condition=Q(min_elevation_deg__gte=-5, min_elevation_deg__lte=90),
                name="station_min_el_range",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class MaintenanceWindow(models.Model):
    station = models.ForeignKey(
        GroundStation, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["station_id", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            )
        ]
        indexes = [
            models.Index(fields=["station", "starts_at", "ends_at"], name="maint_station_time")
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.starts_at:%Y-%m-%d %H:%M}..{self.ends_at:%H:%M}"


class ServiceAccount(models.Model):
    """A machine client (gateway, scheduler). Tokens belong to one."""

    name = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once at creation.

    Tokens are 256-bit random strings, so a fast hash is sufficient (no dictionary
    attack applies) and lets the lookup be one indexed equality.
    """

    account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=12, help_text="first characters, to recognise a token")
    token_sha256 = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    spacecraft = models.ManyToManyField(
        Spacecraft,
        blank=True,
        related_name="+",
        help_text="the spacecraft a restricted token may act on",
    )
    # Explicit, so deleting the last listed spacecraft leaves a token that may act on
    # nothing rather than one that silently may act on everything.
    restricted = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["account_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="token_unique_name_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.name} ({self.prefix}…)"
