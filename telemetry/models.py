"""Telemetry registry (Django models) and the time-series tables (raw SQL, see ``schema``).

Samples do not live in Django models: the hot path writes them with psycopg ``COPY``
and reads them with hand-written SQL, all in ``telemetry/stores``. What is here is the
metric registry, which the ingest validates against.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

METRIC_NAME_RE = r"^[a-z][a-z0-9_]{0,62}$"
METRIC_NAME_VALIDATOR = RegexValidator(
    METRIC_NAME_RE, "lowercase letters, digits and underscores, starting with a letter"
)


class MetricKind(models.TextChoices):
    GAUGE = "gauge", "Gauge (a level: temperature, charge)"
    COUNTER = "counter", "Counter (monotonic; resets to 0 on reboot: ECC, XID errors)"


class Metric(models.Model):
    name = models.CharField(max_length=63, unique=True, validators=[METRIC_NAME_VALIDATOR])
    unit = models.CharField(max_length=32, blank=True, help_text="e.g. degC, W, ratio, bit/s")
    kind = models.CharField(max_length=8, choices=MetricKind.choices, default=MetricKind.GAUGE)
    description = models.CharField(max_length=255, blank=True)
    warn_low = models.FloatField(null=True, blank=True)
    warn_high = models.FloatField(null=True, blank=True)
    crit_low = models.FloatField(null=True, blank=True)
    crit_high = models.FloatField(null=True, blank=True)
    auto_registered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(warn_low__isnull=True)
                | Q(warn_high__isnull=True)
                | Q(warn_low__lte=models.F("warn_high")),
                name="metric_warn_order",
            ),
            models.CheckConstraint(
                condition=Q(crit_low__isnull=True)
                | Q(crit_high__isnull=True)
                | Q(crit_low__lte=models.F("crit_high")),
                name="metric_crit_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RollupState(models.Model):
    """Bookkeeping for the rollup and retention jobs (one row per job name)."""

    name = models.CharField(max_length=32, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name
