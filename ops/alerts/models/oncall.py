"""On-call schedules: rotations with handoff times in the schedule's time zone, and
overrides. Who is on call at a time is ``services.oncall``/``selectors`` arithmetic."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from ops.fleet.models import SLUG_VALIDATOR


class Schedule(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[SLUG_VALIDATOR])
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA, e.g. Europe/Paris")
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rotation(models.Model):
    """People take turns of ``shift_days`` days, handing off at ``handoff_time`` local
    time, from ``start_date``. A higher ``layer`` wins where rotations overlap."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=64)
    layer = models.PositiveSmallIntegerField(default=0)
    participants = models.JSONField(default=list, help_text="usernames, in turn order")
    start_date = models.DateField()
    handoff_time = models.TimeField()
    shift_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["schedule_id", "-layer", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_days__gte=1), name="alerts_rotation_shift")
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id}/{self.name}"


class Override(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    username = models.CharField(max_length=150)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schedule_id", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="alerts_override_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id}: {self.username}"
