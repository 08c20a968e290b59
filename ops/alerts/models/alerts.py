"""Alert occurrences and their ISA-18.2 lifecycle (as Yamcs implements it).

States: ``unacknowledged`` (active, nobody acked), ``acknowledged`` (active, acked: the ack
lasts until it clears), ``returned`` (cleared before anyone acked: still needs an ack),
``latched`` (a latching rule's occurrence, cleared or not acked: needs a reset), ``normal``
(closed). ``active`` says whether the condition still holds.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ops.alerts.models.rules import Rule, Severity
from ops.fleet.models import Spacecraft


class AlertState(models.TextChoices):
    UNACKNOWLEDGED = "unacknowledged", "Active, unacknowledged"
    ACKNOWLEDGED = "acknowledged", "Active, acknowledged"
    RETURNED = "returned", "Returned to normal, unacknowledged"
    LATCHED = "latched", "Latched (needs a reset)"
    NORMAL = "normal", "Normal (closed)"


OPEN_STATES = (
    AlertState.UNACKNOWLEDGED,
    AlertState.ACKNOWLEDGED,
    AlertState.RETURNED,
    AlertState.LATCHED,
)


class Source(models.TextChoices):
    RULE = "rule", "Limit rule"
    STALENESS = "staleness", "Pass-aware staleness"
    EVENTS = "events", "Events API (PagerDuty Events v2 shape)"
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"


class Alert(models.Model):
    """One occurrence. Times: ``started_at``/``cleared_at`` are when it happened (sample
    time); ``raised_at`` is when Zenith recorded it. ``backlog``: it began and cleared in
    data that arrived late (a LOS dump): history, never paged as live."""

    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RULE)
    rule = models.ForeignKey(
        Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    rule_key = models.CharField(max_length=64, blank=True)
    dedup_key = models.CharField(max_length=255, blank=True)
    spacecraft = models.ForeignKey(
        Spacecraft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    metric = models.CharField(max_length=128, blank=True)
    summary = models.CharField(max_length=1024)
    details = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    state = models.CharField(
        max_length=16, choices=AlertState.choices, default=AlertState.UNACKNOWLEDGED
    )
    active = models.BooleanField(default=True)
    value = models.FloatField(null=True, blank=True, help_text="the worst value seen")
    started_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    raised_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    backlog = models.BooleanField(default=False)
    runbook_url = models.URLField(max_length=500, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    acked_by = models.CharField(max_length=150, blank=True)
    assignee = models.CharField(max_length=150, blank=True)
    shelved_until = models.DateTimeField(null=True, blank=True)
    shelved_by = models.CharField(max_length=150, blank=True)
    escalation_policy = models.ForeignKey(
        "alerts.EscalationPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    escalation_step = models.PositiveSmallIntegerField(default=0)
    escalation_round = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # One live occurrence per rule and spacecraft, one open alert per dedup key:
            # the database settles races between concurrent ingests or event posts.
            models.UniqueConstraint(
                fields=["rule", "spacecraft"],
                condition=Q(active=True, rule__isnull=False),
                name="alerts_one_active_per_rule_node",
            ),
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=~Q(dedup_key="") & ~Q(state="normal"),
                name="alerts_one_open_per_dedup_key",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-raised_at"], name="alerts_state_raised"),
            models.Index(fields=["spacecraft", "-raised_at"], name="alerts_node_raised"),
            models.Index(
                fields=["next_escalation_at"],
                name="alerts_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
            models.Index(
                fields=["shelved_until"],
                name="alerts_shelved",
                condition=Q(shelved_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.rule_key or self.dedup_key} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state != AlertState.NORMAL
