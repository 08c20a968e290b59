"""Alert rules: what to watch (a metric, by name or glob), where (one spacecraft, a role, a
tag or the whole fleet), when it crosses (levels per severity, a clear level, hold-for)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ops.fleet.models import SLUG_VALIDATOR, Spacecraft


class Severity(models.TextChoices):
    """Yamcs/XTCE's five alarm levels, least to most severe."""

    WATCH = "watch", "Watch"
    WARNING = "warning", "Warning"
    DISTRESS = "distress", "Distress"
    CRITICAL = "critical", "Critical"
    SEVERE = "severe", "Severe"


SEVERITIES: tuple[str, ...] = tuple(Severity.values)
# Rank 1..5; 0 means "no breach".
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES, start=1)}


class Condition(models.TextChoices):
    ABOVE = "above", "Above a level"
    BELOW = "below", "Below a level"
    OUTSIDE = "outside", "Outside a band"
    COUNTER_RATE_ABOVE = "counter_rate_above", "Counter rate above (per second, resets handled)"
    RATE_OF_CHANGE = "rate_of_change", "Rate of change outside a band (per second)"
    NO_DATA = "no_data", "No data (pass-aware)"


class ScopeKind(models.TextChoices):
    ALL = "all", "Every spacecraft"
    SPACECRAFT = "spacecraft", "One spacecraft"
    ROLE = "role", "Spacecraft of a role (leo, geo)"
    TAG = "tag", "Spacecraft with a tag"


class LosPolicy(models.TextChoices):
    """What an occurrence that began and cleared out of sight (a LOS backlog) does."""

    NOTIFY = "notify", "Record it and send a notice (never a page)"
    RECORD = "record", "Record it only"


class SpacecraftTag(models.Model):
    """Tags group spacecraft for rule scopes (the fleet registry has roles, not tags)."""

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=64, validators=[SLUG_VALIDATOR])

    class Meta:
        ordering = ["tag", "spacecraft_id"]
        constraints = [
            models.UniqueConstraint(fields=["spacecraft", "tag"], name="alerts_tag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tag}:{self.spacecraft_id}"


class Rule(models.Model):
    """A limit rule. ``levels`` is ``[{"severity": "warning", "low": x, "high": y}, ...]``:
    a value below ``low`` or above ``high`` of a level breaches it (the worst breached level
    is the severity). It clears once back within ``clear_low``..``clear_high`` (hysteresis;
    the loosest level's bounds when unset). Rates are per second."""

    key = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True)
    metric = models.CharField(
        max_length=128, help_text="metric name or glob (gpu*_temp_c); several match as one"
    )
    scope = models.CharField(max_length=16, choices=ScopeKind.choices, default=ScopeKind.ALL)
    spacecraft = models.ForeignKey(
        Spacecraft, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=8, blank=True)
    tag = models.CharField(max_length=64, blank=True)
    condition = models.CharField(max_length=24, choices=Condition.choices)
    levels = models.JSONField(default=list, blank=True)
    clear_low = models.FloatField(null=True, blank=True)
    clear_high = models.FloatField(null=True, blank=True)
    hold_s = models.FloatField(default=0.0, help_text="breach must last this long (sample time)")
    hold_samples = models.PositiveIntegerField(default=1, help_text="... and this many samples")
    no_data_s = models.FloatField(null=True, blank=True, help_text="no_data: silence allowed")
    severity = models.CharField(
        max_length=16,
        choices=Severity.choices,
        default=Severity.WARNING,
        help_text="no_data: the severity raised",
    )
    latching = models.BooleanField(default=False, help_text="stays latched until reset")
    runbook_url = models.URLField(max_length=500, blank=True)
    los_policy = models.CharField(max_length=8, choices=LosPolicy.choices, default=LosPolicy.NOTIFY)
    escalation_policy = models.ForeignKey(
        "alerts.EscalationPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rules",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_s__gte=0) & Q(hold_samples__gte=1), name="alerts_rule_hold"
            ),
            models.CheckConstraint(
                condition=~Q(scope="spacecraft") | Q(spacecraft__isnull=False),
                name="alerts_rule_scope_spacecraft",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class RuleSetVersion(models.Model):
    """One row, bumped by every rule or tag change: processes recompile their rules when it
    moves (checked once per ingest, one indexed read)."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"rules v{self.version}"


class RuleState(models.Model):
    """Evaluation state of one rule on one spacecraft, kept across ingest requests.

    A row in its resting state (nothing pending, no occurrence) is skipped by the ingest
    path; ``evaluated_until`` is the newest sample time evaluated while it was not."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="+")
    evaluated_until = models.DateTimeField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    pending_count = models.PositiveIntegerField(default=0)
    pending_level = models.PositiveSmallIntegerField(default=0)
    alert = models.ForeignKey(
        "alerts.Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "spacecraft"], name="alerts_state_unique")
        ]
        indexes = [
            models.Index(
                fields=["spacecraft"],
                name="alerts_state_busy",
                condition=Q(pending_count__gt=0) | Q(alert__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.spacecraft_id}"
