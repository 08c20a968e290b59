"""Workloads and transfers: what goes up to a node, what comes down, chunk by chunk."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from ops.fleet.models import Spacecraft
from scheduling.models.contacts import Contact

PRIORITY_VALIDATORS = [MinValueValidator(1), MaxValueValidator(10)]


class WorkloadState(models.TextChoices):
    QUEUED = "queued", "Queued"  # nothing sent yet
    UPLOADING = "uploading", "Uploading"
    STAGED = "staged", "Staged"  # every upload verified on the node; the job may start
    RUNNING = "running", "Running"  # the node reports the job running
    DOWNLINKING = "downlinking", "Downlinking"  # the job is done; results coming down
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_WORKLOAD_STATES = (WorkloadState.COMPLETED, WorkloadState.FAILED, WorkloadState.CANCELLED)


class TransferDirection(models.TextChoices):
    UP = "up", "Upload"
    DOWN = "down", "Downlink"


class TransferKind(models.TextChoices):
    MODEL_WEIGHTS = "model_weights", "Model weights"
    DATASET = "dataset", "Dataset"
    JOB_SPEC = "job_spec", "Job spec"
    RESULT = "result", "Result"
    OTHER = "other", "Other"


class TransferState(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting, no contact planned to carry all of it yet
    PLANNED = "planned", "Planned"  # contacts planned for it (see eta, deadline_risk)
    IN_PROGRESS = "in_progress", "In progress"  # chunks moving (or some moved, more to go)
    PAUSED = "paused", "Paused"
    VERIFYING = "verifying", "Verifying"  # every chunk acknowledged; whole-file check
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Transfers the planner and the link may move bytes for.
MOVABLE_TRANSFER_STATES = (TransferState.QUEUED, TransferState.PLANNED, TransferState.IN_PROGRESS)
OPEN_TRANSFER_STATES = (*MOVABLE_TRANSFER_STATES, TransferState.PAUSED, TransferState.VERIFYING)


class Workload(models.Model):
    """A job for a node: its uploads, the job itself, and the results it sends back.

    ``job`` is the job spec as the node's runtime takes it (opaque to Zenith). Result
    downlinks are created when the node reports the job done (``workload_report``).
    ``paused`` pauses its open transfers without changing its state.
    """

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.PROTECT, related_name="workloads")
    name = models.CharField(max_length=128)
    job = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(default=5, validators=PRIORITY_VALIDATORS)
    deadline = models.DateTimeField(null=True, blank=True, help_text="results due by then")
    state = models.CharField(
        max_length=16, choices=WorkloadState.choices, default=WorkloadState.QUEUED
    )
    paused = models.BooleanField(default=False)
    detail = models.TextField(blank=True, help_text="the node's last word on the job")
    client_ref = models.CharField(
        max_length=128, blank=True, help_text="the submitter's id: a resubmission is a replay"
    )
    submitted_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spacecraft", "client_ref"],
                condition=~Q(client_ref=""),
                name="workload_unique_client_ref",
            ),
        ]
        indexes = [models.Index(fields=["spacecraft", "state"], name="workload_craft_state")]

    def __str__(self) -> str:
        return f"workload {self.pk} {self.name} ({self.state})"


class Transfer(models.Model):
    """One file going up to (``up``) or coming down from (``down``) a spacecraft.

    Split into ``chunk_count`` chunks of ``chunk_size_bytes`` (the last holds the rest),
    each with its SHA-256 (``TransferChunk``). ``bytes_done``/``chunks_done`` count
    acknowledged chunks only. ``source`` is the upload's file, relative to the outgoing
    directory; ``stored_path`` the verified downlink, relative to the incoming one.
    ``eta``, ``deadline_risk``, ``plan_rank`` and ``plan_note`` are the transfer
    planner's latest forecast; ``rate_bps`` the rate measured over the last contact.
    """

    spacecraft = models.ForeignKey(Spacecraft, on_delete=models.PROTECT, related_name="transfers")
    workload = models.ForeignKey(
        Workload, on_delete=models.CASCADE, null=True, blank=True, related_name="transfers"
    )
    direction = models.CharField(max_length=4, choices=TransferDirection.choices)
    kind = models.CharField(max_length=16, choices=TransferKind.choices)
    name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(validators=[MinValueValidator(1)])
    sha256 = models.CharField(max_length=64)
    chunk_size_bytes = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField()
    priority = models.PositiveSmallIntegerField(default=5, validators=PRIORITY_VALIDATORS)
    deadline = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=TransferState.choices, default=TransferState.QUEUED
    )
    source = models.CharField(max_length=1024, blank=True)
    stored_path = models.CharField(max_length=1024, blank=True)
    prepared = models.BooleanField(
        default=False, help_text="every chunk's checksum is known (uploads: hashed on the ground)"
    )
    prepare_progress = models.FloatField(default=0.0)
    bytes_done = models.BigIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    retransmissions = models.PositiveIntegerField(default=0)
    verify_failures = models.PositiveSmallIntegerField(default=0)
    rate_bps = models.FloatField(null=True, blank=True)
    eta = models.DateTimeField(null=True, blank=True)
    deadline_risk = models.BooleanField(default=False)
    plan_rank = models.PositiveIntegerField(null=True, blank=True)
    plan_note = models.CharField(max_length=255, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    client_ref = models.CharField(max_length=128, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bytes_done__gte=0, bytes_done__lte=F("size_bytes")),
                name="transfer_bytes_done_range",
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=F("chunk_count")), name="transfer_chunks_done_range"
            ),
            models.UniqueConstraint(
                fields=["spacecraft", "client_ref"],
                condition=~Q(client_ref=""),
                name="transfer_unique_client_ref",
            ),
            models.UniqueConstraint(
                fields=["workload", "direction", "name"],
                condition=Q(workload__isnull=False),
                name="transfer_unique_name_in_workload",
            ),
        ]
        indexes = [
            models.Index(fields=["spacecraft", "direction", "state"], name="transfer_queue"),
            models.Index(fields=["state", "deadline"], name="transfer_state_deadline"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.pk} {self.direction} {self.name} ({self.state})"

    @property
    def progress(self) -> float:
        return self.bytes_done / self.size_bytes if self.size_bytes else 1.0


class TransferChunk(models.Model):
    """One chunk: counted (``acked_at``) once its checksum was acknowledged.

    ``claimed_until``/``claim_contact`` mark a chunk on the air, so two links of one
    spacecraft (several radios) never send the same chunk at once; an expired claim
    (the sender died) frees it.
    """

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    offset = models.BigIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    acked_at = models.DateTimeField(null=True, blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_contact = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["transfer_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "index"], name="chunk_unique_in_transfer"),
        ]
        indexes = [
            models.Index(
                fields=["transfer", "index"],
                condition=Q(acked_at__isnull=True),
                name="chunk_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"transfer {self.transfer_id} chunk {self.index}"


class TransferAllocation(models.Model):
    """The plan: ``chunk_count`` chunks of a transfer planned onto a contact, in
    ``sequence`` order inside it, expected from ``starts_at`` to ``ends_at``.
    ``first_chunk`` counts among the transfer's chunks pending at planning time."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="allocations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="allocations")
    sequence = models.PositiveIntegerField()
    first_chunk = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField()
    planned_bytes = models.BigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "contact"], name="allocation_unique"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.transfer_id} on contact {self.contact_id}: {self.planned_bytes} B"


class TransferEvent(models.Model):
    """What happened to a transfer (append-only): state changes, retries, checks."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    kind = models.CharField(max_length=32, help_text="state, retransmit, verify, plan, ...")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["transfer_id", "at", "id"]
        indexes = [models.Index(fields=["transfer", "at"], name="transfer_event_at")]

    def __str__(self) -> str:
        return f"transfer {self.transfer_id}: {self.kind} {self.from_state}->{self.to_state}"


class WorkloadEvent(models.Model):
    """What happened to a workload (append-only)."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["workload_id", "at", "id"]

    def __str__(self) -> str:
        return f"workload {self.workload_id}: {self.from_state}->{self.to_state}"
