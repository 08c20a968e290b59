"""Transfer and workload API: serializers and filters (the views are in ``views``)."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ops.fleet.models import Spacecraft
from scheduling import transfer_services
from scheduling.models import (
    OPEN_TRANSFER_STATES,
    Transfer,
    TransferAllocation,
    TransferDirection,
    TransferEvent,
    TransferKind,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)

READ = frozenset({"schedule", "operate", "admin"})
ACT = frozenset({"schedule", "operate", "admin"})
# The node's job reports reach Zenith through gateways, like telemetry.
REPORT = frozenset({"ingest", "schedule", "admin"})
STREAM_BYTES = 1 << 20


def _pattern(values: list[str]) -> dict[str, str]:
    # A pattern, not an enum: named enums would collide on "state" across serializers.
    return {
        "type": "string",
        "pattern": f"^({'|'.join(values)})$",
        "description": ", ".join(values),
    }


@extend_schema_field(_pattern(TransferState.values))
class TransferStateField(serializers.CharField):
    pass


@extend_schema_field(_pattern(WorkloadState.values))
class WorkloadStateField(serializers.CharField):
    pass


# --- serializers ------------------------------------------------------------------------


class AllocationSerializer(serializers.ModelSerializer[TransferAllocation]):
    station = serializers.CharField(source="contact.station.slug", read_only=True)
    contact_state = serializers.CharField(source="contact.state", read_only=True)

    class Meta:
        model = TransferAllocation
        fields = [
            "contact",
            "station",
            "contact_state",
            "sequence",
            "first_chunk",
            "chunk_count",
            "planned_bytes",
            "starts_at",
            "ends_at",
        ]
        read_only_fields = fields


class TransferEventSerializer(serializers.ModelSerializer[TransferEvent]):
    class Meta:
        model = TransferEvent
        fields = ["at", "actor", "kind", "from_state", "to_state", "contact", "detail"]
        read_only_fields = fields


class TransferSerializer(serializers.ModelSerializer[Transfer]):
    spacecraft: serializers.SlugRelatedField[Spacecraft] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    state = TransferStateField(read_only=True)
    progress = serializers.FloatField(read_only=True, help_text="bytes acknowledged / size")
    content_url = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "spacecraft",
            "workload",
            "direction",
            "kind",
            "name",
            "size_bytes",
            "sha256",
            "chunk_size_bytes",
            "chunk_count",
            "priority",
            "deadline",
            "state",
            "progress",
            "bytes_done",
            "chunks_done",
            "retransmissions",
            "verify_failures",
            "rate_bps",
            "eta",
            "deadline_risk",
            "plan_rank",
            "plan_note",
            "planned_at",
            "prepared",
            "prepare_progress",
            "source",
            "error",
            "client_ref",
            "created_by",
            "created_at",
            "state_changed_at",
            "started_at",
            "completed_at",
            "content_url",
        ]
        read_only_fields = fields

    def get_content_url(self, obj: Transfer) -> str | None:
        if obj.direction == TransferDirection.DOWN and obj.state == TransferState.COMPLETED:
            return f"/api/v1/transfers/{obj.pk}/content"
        return None


class TransferDetailSerializer(TransferSerializer):
    allocations = AllocationSerializer(many=True, read_only=True)
    events = TransferEventSerializer(many=True, read_only=True)

    class Meta(TransferSerializer.Meta):
        fields = [*TransferSerializer.Meta.fields, "allocations", "events"]
        read_only_fields = fields


class FileSpecSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=255, help_text="file name on the node")
    kind = serializers.ChoiceField(choices=TransferKind.choices, default=TransferKind.OTHER)
    source = serializers.CharField(  # type: ignore[assignment]  # the field named "source"
        required=False,
        max_length=1024,
        allow_blank=True,
        default="",
        help_text="uploads: the file, relative to the outgoing directory",
    )
    size_bytes = serializers.IntegerField(required=False, min_value=1)
    sha256 = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=10)
    deadline = serializers.DateTimeField(required=False, allow_null=True)
    chunk_size_bytes = serializers.IntegerField(required=False, min_value=1)

    def spec(self) -> transfer_services.TransferSpec:
        v = self.validated_data
        return _spec(v)


def _spec(v: dict[str, Any]) -> transfer_services.TransferSpec:
    return transfer_services.TransferSpec(
        name=v["name"],
        kind=v.get("kind", TransferKind.OTHER),
        size_bytes=v.get("size_bytes"),
        sha256=v.get("sha256", ""),
        source=v.get("source", ""),
        priority=v.get("priority"),
        deadline=v.get("deadline"),
        chunk_size_bytes=v.get("chunk_size_bytes"),
    )


class TransferSubmitSerializer(FileSpecSerializer):
    spacecraft = serializers.SlugRelatedField(
        slug_field="slug", queryset=Spacecraft.objects.all(), help_text="slug"
    )
    direction = serializers.ChoiceField(choices=TransferDirection.choices)
    client_ref = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=128,
        help_text="your id for this submission: sending it again returns the same transfer",
    )


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReprioritiseSerializer(serializers.Serializer[Any]):
    priority = serializers.IntegerField(required=False, min_value=1, max_value=10)
    deadline = serializers.DateTimeField(
        required=False, allow_null=True, help_text="null clears the deadline"
    )


class WorkloadEventSerializer(serializers.ModelSerializer[WorkloadEvent]):
    class Meta:
        model = WorkloadEvent
        fields = ["at", "actor", "from_state", "to_state", "detail"]
        read_only_fields = fields


class WorkloadSerializer(serializers.ModelSerializer[Workload]):
    spacecraft: serializers.SlugRelatedField[Spacecraft] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    state = WorkloadStateField(read_only=True)
    upload_progress = serializers.SerializerMethodField()
    downlink_progress = serializers.SerializerMethodField()
    eta = serializers.SerializerMethodField()
    deadline_risk = serializers.SerializerMethodField()
    transfers = TransferSerializer(many=True, read_only=True)

    class Meta:
        model = Workload
        fields = [
            "id",
            "spacecraft",
            "name",
            "job",
            "priority",
            "deadline",
            "state",
            "paused",
            "detail",
            "upload_progress",
            "downlink_progress",
            "eta",
            "deadline_risk",
            "client_ref",
            "submitted_by",
            "created_at",
            "state_changed_at",
            "completed_at",
            "transfers",
        ]
        read_only_fields = fields

    @staticmethod
    def _progress(obj: Workload, direction: str) -> float | None:
        rows = [t for t in obj.transfers.all() if t.direction == direction]
        rows = [t for t in rows if t.state != TransferState.CANCELLED]
        total = sum(t.size_bytes for t in rows)
        return sum(t.bytes_done for t in rows) / total if total else None

    def get_upload_progress(self, obj: Workload) -> float | None:
        return self._progress(obj, TransferDirection.UP)

    def get_downlink_progress(self, obj: Workload) -> float | None:
        return self._progress(obj, TransferDirection.DOWN)

    def get_eta(self, obj: Workload) -> str | None:
        """When its last open transfer is due to finish (null: not all planned)."""
        open_rows = [t for t in obj.transfers.all() if t.state in OPEN_TRANSFER_STATES]
        if not open_rows or any(t.eta is None for t in open_rows):
            return None
        return max(t.eta for t in open_rows if t.eta is not None).isoformat()

    def get_deadline_risk(self, obj: Workload) -> bool:
        return any(t.deadline_risk for t in obj.transfers.all() if t.state in OPEN_TRANSFER_STATES)


class WorkloadDetailSerializer(WorkloadSerializer):
    events = WorkloadEventSerializer(many=True, read_only=True)

    class Meta(WorkloadSerializer.Meta):
        fields = [*WorkloadSerializer.Meta.fields, "events"]
        read_only_fields = fields


class WorkloadSubmitSerializer(serializers.Serializer[Any]):
    spacecraft = serializers.SlugRelatedField(
        slug_field="slug", queryset=Spacecraft.objects.all(), help_text="slug"
    )
    name = serializers.CharField(max_length=128)
    job = serializers.JSONField(
        required=False, default=dict, help_text="the job spec, as the node takes it"
    )
    priority = serializers.IntegerField(required=False, min_value=1, max_value=10, default=5)
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    client_ref = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)
    uploads = FileSpecSerializer(many=True, required=False, default=list)

    def validate_job(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class ResultSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=255)
    size_bytes = serializers.IntegerField(min_value=1)
    sha256 = serializers.CharField(min_length=64, max_length=64)
    kind = serializers.ChoiceField(choices=TransferKind.choices, default=TransferKind.RESULT)


class WorkloadReportSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=["running", "succeeded", "failed"])
    results = ResultSerializer(many=True, required=False, default=list)
    detail = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


# --- filters -------------------------------------------------------------------------------


class TransferFilter(django_filters.FilterSet):
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    state = django_filters.MultipleChoiceFilter(choices=TransferState.choices)
    direction = django_filters.ChoiceFilter(choices=TransferDirection.choices)
    workload = django_filters.NumberFilter(field_name="workload_id")
    deadline_risk = django_filters.BooleanFilter()

    class Meta:
        model = Transfer
        fields = ["spacecraft", "state", "direction", "workload", "deadline_risk"]


class WorkloadFilter(django_filters.FilterSet):
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    state = django_filters.MultipleChoiceFilter(choices=WorkloadState.choices)

    class Meta:
        model = Workload
        fields = ["spacecraft", "state"]
