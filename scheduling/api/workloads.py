"""Workloads API: a job with its uploads, its result downlinks and the node's job report.
Thin: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id, state_pattern
from ops.fleet.fields import SpacecraftField
from scheduling.api.transfers import (
    ACT,
    READ,
    REPORT,
    ControlViewSet,
    FileSpecSerializer,
    ReasonSerializer,
    ReprioritiseSerializer,
    TransferSerializer,
    prepare_later,
    spec_of,
)
from scheduling.models import (
    OPEN_TRANSFER_STATES,
    TransferDirection,
    TransferKind,
    TransferState,
    Workload,
    WorkloadEvent,
    WorkloadState,
)
from scheduling.selectors import transfers as transfer_selectors
from scheduling.services import transfers


@extend_schema_field(state_pattern(WorkloadState.values))
class WorkloadStateField(serializers.CharField):
    pass


class WorkloadEventSerializer(serializers.ModelSerializer[WorkloadEvent]):
    class Meta:
        model = WorkloadEvent
        fields = ["at", "actor", "from_state", "to_state", "detail"]
        read_only_fields = fields


class WorkloadSerializer(serializers.ModelSerializer[Workload]):
    spacecraft = SpacecraftField(read_only=True)
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
    spacecraft = SpacecraftField()
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


class WorkloadFilter(django_filters.FilterSet):
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    state = django_filters.MultipleChoiceFilter(choices=WorkloadState.choices)

    class Meta:
        model = Workload
        fields = ["spacecraft", "state"]


class WorkloadViewSet(ControlViewSet):
    """Workloads: their uploads, the job on the node, and the result downlinks that
    appear when the node reports the job done."""

    subject = "workload"
    serializer_class = WorkloadSerializer
    filterset_class = WorkloadFilter
    ordering_fields = ["created_at", "deadline", "priority"]
    ordering = ["-created_at"]
    lookup_value_regex = r"\d+"
    action_scopes = {
        "list": READ,
        "retrieve": READ,
        "create": ACT,
        "cancel": ACT,
        "pause": ACT,
        "resume": ACT,
        "reprioritise": ACT,
        "report": REPORT,
    }

    def get_queryset(self) -> QuerySet[Workload]:
        return transfer_selectors.workload_list(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request)
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return WorkloadDetailSerializer if self.action == "retrieve" else WorkloadSerializer

    def get_object(self) -> Workload:
        return transfer_selectors.workload_get(
            workload_id=path_id(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    def detail_response(self, obj: Workload, code: int = status.HTTP_200_OK) -> Response:
        found = transfer_selectors.workload_get(workload_id=obj.pk)
        return Response(WorkloadDetailSerializer(found).data, status=code)

    @extend_schema(
        request=WorkloadSubmitSerializer,
        responses={201: WorkloadDetailSerializer, 200: WorkloadDetailSerializer},
        description="Queue a workload with its uploads, all or nothing (a bad upload "
        "names its field as ``uploads[i].field`` and nothing is stored).",
    )
    def create(self, request: Request) -> Response:
        data = WorkloadSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workload, created, to_prepare = transfers.workload_submit(
            spacecraft=v["spacecraft"],
            allowed_spacecraft_ids=request_spacecraft_ids(request),
            name=v["name"],
            job=v["job"],
            uploads=[spec_of(u) for u in v["uploads"]],
            priority=v["priority"],
            deadline=v["deadline"],
            client_ref=v["client_ref"],
            actor=actor_name(request),
        )
        prepare_later(to_prepare)
        return self.detail_response(workload, 201 if created else 200)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.workload_cancel)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.workload_pause)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.workload_resume)

    @extend_schema(request=ReprioritiseSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def reprioritise(self, request: Request, pk: str | None = None) -> Response:
        return self.reprioritise_with(request, transfers.workload_reprioritise)

    @extend_schema(
        request=WorkloadReportSerializer,
        responses=WorkloadDetailSerializer,
        description="The node's report on its job (relayed by a gateway): running, "
        "succeeded with its result files (each becomes a downlink), or failed. "
        "Sending the same report again changes nothing.",
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        data = WorkloadReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workload, _ = transfers.workload_report(
            workload=self.get_object(),
            state=v["state"],
            results=[
                transfers.ResultSpec(
                    name=r["name"], size_bytes=r["size_bytes"], sha256=r["sha256"], kind=r["kind"]
                )
                for r in v["results"]
            ],
            detail=v["detail"],
            actor=actor_name(request),
        )
        return self.detail_response(workload)
