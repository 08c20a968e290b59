"""Predicted passes, what the predictions covered, prediction jobs."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from ops.fleet.models import GroundStation, OrbitSet, Spacecraft


class Pass(models.Model):
    """One predicted pass of a spacecraft over a station, from one orbit set.

    ``aos_clipped``/``los_clipped`` mean the real AOS/LOS lies outside the window the
    prediction covered (the stored time is the window edge, not a real AOS/LOS).
    Elevations are geometric unless ``refraction`` (then apparent); azimuths from
    north through east.
    """

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.CASCADE, related_name="passes")
    station = models.ForeignKey(GroundStation, on_delete=models.CASCADE, related_name="passes")
    orbit_set = models.ForeignKey(OrbitSet, on_delete=models.CASCADE, related_name="passes")
    aos = models.DateTimeField()
    tca = models.DateTimeField()
    los = models.DateTimeField()
    aos_clipped = models.BooleanField(default=False)
    los_clipped = models.BooleanField(default=False)
    max_elevation_deg = models.FloatField(
        validators=[MinValueValidator(-90.0), MaxValueValidator(90.0)]
    )
    aos_azimuth_deg = models.FloatField()
    tca_azimuth_deg = models.FloatField()
    los_azimuth_deg = models.FloatField()
    refraction = models.BooleanField(default=False)
    predicted_at = models.DateTimeField()

    class Meta:
        ordering = ["aos", "spacecraft_id", "station_id"]
        verbose_name_plural = "passes"
        constraints = [
            models.CheckConstraint(condition=Q(los__gte=F("aos")), name="pass_los_after_aos"),
            models.CheckConstraint(
                condition=Q(tca__gte=F("aos"), tca__lte=F("los")), name="pass_tca_inside"
            ),
            models.UniqueConstraint(
                fields=["spacecraft", "station", "aos"], name="pass_unique_start"
            ),
        ]
        indexes = [
            models.Index(fields=["station", "aos"], name="pass_station_aos"),
            models.Index(fields=["spacecraft", "aos"], name="pass_spacecraft_aos"),
            models.Index(fields=["los"], name="pass_los"),
        ]

    def __str__(self) -> str:
        return f"{self.spacecraft_id}@{self.station_id} {self.aos:%Y-%m-%dT%H:%M:%SZ}"

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


class PassCoverage(models.Model):
    """How far a spacecraft's passes over all active stations are predicted, and from what.

    The refresh task compares this with the spacecraft's current orbit set and the
    stations: a new orbit set (ops.fleet cannot tell scheduling about it) or a
    changed station makes the coverage stale.
    """

    spacecraft = models.OneToOneField(
        Spacecraft, on_delete=models.CASCADE, primary_key=True, related_name="pass_coverage"
    )
    orbit_set = models.ForeignKey(OrbitSet, on_delete=models.CASCADE, related_name="+")
    stations_fingerprint = models.CharField(max_length=64)
    horizon_end = models.DateTimeField()
    predicted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.spacecraft_id} to {self.horizon_end:%Y-%m-%dT%H:%MZ}"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PredictionJob(models.Model):
    """A pass prediction run, split into chunks of spacecraft that workers share."""

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    station_ids = models.JSONField(default=list, help_text="empty: every active station")
    refraction = models.BooleanField(default=False)
    updates_coverage = models.BooleanField(
        default=False, help_text="a full refresh over every active station"
    )
    requested_by = models.CharField(max_length=150, blank=True)
    passes_stored = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=dict, blank=True, help_text="spacecraft slug: problem")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="job_end_after_start"),
            models.CheckConstraint(
                condition=Q(progress__gte=0.0, progress__lte=1.0), name="job_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"prediction {self.pk} ({self.state}, {self.progress:.0%})"


class PredictionChunk(models.Model):
    """The spacecraft one worker predicts for a job; claimed and finished by conditional
    updates, so a redelivered task neither runs a finished chunk again nor counts twice."""

    job = models.ForeignKey(PredictionJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    spacecraft_ids = models.JSONField()
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(default=0.0)
    passes_stored = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="chunk_unique_index"),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.index} ({self.state})"
