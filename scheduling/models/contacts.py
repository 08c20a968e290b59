"""Contacts: booked links between a spacecraft and a station antenna, and their history."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from ops.fleet.models import GroundStation, Spacecraft
from scheduling.models.passes import Pass


class ContactState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    ABORTED = "aborted", "Aborted"


# States that hold an antenna and a radio: everything else is history.
ACTIVE_CONTACT_STATES = (ContactState.SCHEDULED, ContactState.IN_PROGRESS)


class Contact(models.Model):
    """A booked link between a spacecraft and one antenna of a station, inside a pass.

    ``antenna`` is the station's antenna index (0-based). The antenna is busy from
    ``start - station.setup_s`` to ``end + station.turnaround_s``. ``pass_ref`` is
    cleared when a re-prediction replaces the pass; ``pass_aos``/``pass_los`` keep what
    the contact was booked against (the pass's spacecraft and station are the
    contact's own). Capacities are rate x duration per direction, the rate being the
    lower of the spacecraft's and the station's. ``booked_by`` is "planner" or the
    user/token that booked it by hand (``manual``).
    """

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="contacts")
    station = models.ForeignKey(GroundStation, on_delete=models.CASCADE, related_name="contacts")
    antenna = models.PositiveSmallIntegerField(default=0)
    pass_ref = models.ForeignKey(
        Pass, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    pass_aos = models.DateTimeField(null=True, blank=True)
    pass_los = models.DateTimeField(null=True, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    uplink_capacity_bytes = models.BigIntegerField(default=0)
    downlink_capacity_bytes = models.BigIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=ContactState.choices, default=ContactState.SCHEDULED
    )
    booked_by = models.CharField(max_length=150, default="planner")
    manual = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="why it was booked, or why it last changed")
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField()
    # Execution (scheduling.services.execution): the runner holding the contact renews
    # ``lease_until``; ``run_token`` fences out a runner whose lease was taken over.
    run_token = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    runner = models.CharField(max_length=150, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    link_started_at = models.DateTimeField(null=True, blank=True)
    link_ended_at = models.DateTimeField(null=True, blank=True)
    link_stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["start", "station_id", "antenna"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="contact_end_after_start"),
            models.CheckConstraint(
                condition=Q(uplink_capacity_bytes__gte=0, downlink_capacity_bytes__gte=0),
                name="contact_capacity_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["station", "start"], name="contact_station_start"),
            models.Index(fields=["spacecraft", "start"], name="contact_spacecraft_start"),
            models.Index(fields=["state", "start"], name="contact_state_start"),
        ]

    def __str__(self) -> str:
        return (
            f"contact {self.pk} {self.spacecraft_id}@{self.station_id}/{self.antenna} "
            f"{self.start:%Y-%m-%dT%H:%M:%SZ}..{self.end:%H:%M:%SZ} ({self.state})"
        )

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class ContactEvent(models.Model):
    """One state change of a contact (append-only: written by the contact services)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16, blank=True, help_text="empty: booked")
    to_state = models.CharField(max_length=16, choices=ContactState.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["contact_id", "at", "id"]
        indexes = [models.Index(fields=["contact", "at"], name="contact_event_at")]

    def __str__(self) -> str:
        return f"contact {self.contact_id}: {self.from_state or '-'} -> {self.to_state}"
