"""Notifications: the outbox (written in the transaction that changed an alert), the
deliveries it fans out to (one per channel or person, each claimed by one worker), each
attempt's log, the channels, and escalation policies."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ops.alerts.models.alerts import Alert
from ops.fleet.models import SLUG_VALIDATOR


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (JSON, HMAC-SHA256 signed)"
    EMAIL = "email", "E-mail"
    CONSOLE = "console", "Console (live)"


class Channel(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    url = models.URLField(max_length=500, blank=True, help_text="webhook: where to POST")
    secret = models.CharField(max_length=255, blank=True, help_text="webhook: HMAC key")
    emails = models.JSONField(default=list, blank=True, help_text="email: addresses")
    is_default = models.BooleanField(
        default=False, help_text="notified for alerts without an escalation policy"
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EscalationPolicy(models.Model):
    """Ordered steps (notify; wait; next), repeated ``repeat`` more times, until an ack."""

    name = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    description = models.CharField(max_length=255, blank=True)
    routing_key = models.CharField(
        max_length=64, blank=True, help_text="Events API routing_key that pages through this"
    )
    repeat = models.PositiveSmallIntegerField(default=0, help_text="rounds after the first")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["routing_key"],
                condition=~Q(routing_key=""),
                name="alerts_policy_routing_key",
            )
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    wait_min = models.FloatField(default=5.0, help_text="minutes before the next step")
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    schedule = models.ForeignKey(
        "alerts.Schedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    usernames = models.JSONField(default=list, blank=True, help_text="people, by e-mail")

    class Meta:
        ordering = ["policy_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="alerts_step_order"),
            models.CheckConstraint(condition=Q(wait_min__gte=0), name="alerts_step_wait"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.order}"


class NotificationKind(models.TextChoices):
    FIRING = "firing", "Firing"
    SEVERITY_RAISED = "severity_raised", "Severity raised"
    ESCALATION = "escalation", "Escalation step"
    CLEARED = "cleared", "Cleared"
    BACKLOG = "backlog", "Happened during LOS, already cleared"
    SHELVE_EXPIRED = "shelve_expired", "Shelve expired"


class Notification(models.Model):
    """An outbox row: something about an alert to tell people. Written in the transaction
    that changed the alert; a worker fans it out to deliveries (``processed_at``).
    ``suppressed``: maintenance or planned LOS kept it from anyone (the record stays)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    step = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    suppressed = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["due_at"], name="alerts_outbox_due", condition=Q(processed_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} {self.kind} alert {self.alert_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending (or retrying)"
    SENT = "sent", "Sent"
    DEAD = "dead", "Dead-lettered (gave up)"


class Delivery(models.Model):
    """One notification to one place. Claimed by a worker with a conditional UPDATE that
    sets ``claimed_until`` (a lease): a worker that dies loses its claim when the lease
    runs out and another one sends it. ``id`` is the idempotency key receivers see."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transport = models.CharField(max_length=8, choices=ChannelKind.choices)
    target = models.CharField(max_length=500, help_text="URL, address or console")
    state = models.CharField(
        max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=150, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="alerts_delivery_due",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["state", "-created_at"], name="alerts_delivery_state"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.transport} {self.state}"


class DeliveryAttempt(models.Model):
    """The delivery log: every try, with its outcome."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField()
    worker = models.CharField(max_length=150)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
