"""Transfers API: uploads to and downlinks from the fleet, their progress, plan and
history; submit, act on them (cancel, pause, resume, reprioritise), fetch verified
content. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id, state_pattern
from ops.fleet.fields import SpacecraftField
from scheduling import tasks
from scheduling.models import (
    Transfer,
    TransferAllocation,
    TransferDirection,
    TransferEvent,
    TransferKind,
    TransferState,
)
from scheduling.selectors import transfers as transfer_selectors
from scheduling.services import transfers

READ = frozenset({"schedule", "operate", "admin"})
ACT = frozenset({"schedule", "operate", "admin"})
# The node's job reports reach Zenith through gateways, like telemetry.
REPORT = frozenset({"ingest", "schedule", "admin"})
STREAM_BYTES = 1 << 20


@extend_schema_field(state_pattern(TransferState.values))
class TransferStateField(serializers.CharField):
    pass


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
    spacecraft = SpacecraftField(read_only=True)
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

    def spec(self) -> transfers.TransferSpec:
        v = self.validated_data
        return spec_of(v)


def spec_of(v: dict[str, Any]) -> transfers.TransferSpec:
    return transfers.TransferSpec(
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
    spacecraft = SpacecraftField()
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


class TransferFilter(django_filters.FilterSet):
    spacecraft = django_filters.CharFilter(field_name="spacecraft__slug")
    state = django_filters.MultipleChoiceFilter(choices=TransferState.choices)
    direction = django_filters.ChoiceFilter(choices=TransferDirection.choices)
    workload = django_filters.NumberFilter(field_name="workload_id")
    deadline_risk = django_filters.BooleanFilter()

    class Meta:
        model = Transfer
        fields = ["spacecraft", "state", "direction", "workload", "deadline_risk"]


def prepare_later(transfer_ids: list[int]) -> None:
    for pk in transfer_ids:
        tasks.prepare_transfer.delay_on_commit(pk)


async def _stream(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while block := await asyncio.to_thread(f.read, STREAM_BYTES):
            yield block


class ControlViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What the transfer and workload endpoints share: the actions with an optional
    ``reason`` (cancel, pause, resume) and reprioritise. Their services take the object as
    ``<subject>=`` and the caller as ``actor``; the body is checked before the object is
    looked up, and the answer is the object's detail (``detail_response``)."""

    subject = ""

    def detail_response(self, obj: Any, code: int = status.HTTP_200_OK) -> Response:
        raise NotImplementedError

    def act(self, request: Request, service: Callable[..., Any]) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = service(
            **{self.subject: self.get_object()},
            actor=actor_name(request),
            reason=data.validated_data["reason"],
        )
        return self.detail_response(changed)

    def reprioritise_with(self, request: Request, service: Callable[..., Any]) -> Response:
        data = ReprioritiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        changed = service(
            **{self.subject: self.get_object()},
            actor=actor_name(request),
            priority=v.get("priority"),
            # An absent deadline stays as it is; null clears it.
            deadline=v["deadline"] if "deadline" in v else transfers.UNSET,
        )
        return self.detail_response(changed)


class TransferViewSet(ControlViewSet):
    """Uploads to and downlinks from the fleet. ``progress`` counts acknowledged bytes;
    ``eta`` and ``deadline_risk`` are the transfer planner's forecast over the contact
    plan; ``rate_bps`` was measured over the last contact."""

    subject = "transfer"
    serializer_class = TransferSerializer
    filterset_class = TransferFilter
    ordering_fields = ["created_at", "deadline", "eta", "priority"]
    ordering = ["-created_at"]
    lookup_value_regex = r"\d+"
    action_scopes = {
        "list": READ,
        "retrieve": READ,
        "content": READ,
        "create": ACT,
        "cancel": ACT,
        "pause": ACT,
        "resume": ACT,
        "reprioritise": ACT,
    }

    def get_queryset(self) -> QuerySet[Transfer]:
        return transfer_selectors.transfer_list(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request)
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return TransferDetailSerializer if self.action == "retrieve" else TransferSerializer

    def get_object(self) -> Transfer:
        return transfer_selectors.transfer_get(
            transfer_id=path_id(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    def detail_response(self, obj: Transfer, code: int = status.HTTP_200_OK) -> Response:
        found = transfer_selectors.transfer_get(transfer_id=obj.pk)
        return Response(TransferDetailSerializer(found).data, status=code)

    @extend_schema(
        request=TransferSubmitSerializer,
        responses={201: TransferDetailSerializer, 200: TransferDetailSerializer},
        description="Queue an upload (``source``: a file under the outgoing directory; "
        "``sha256`` checked against it) or a downlink (the node's file: ``name``, "
        "``size_bytes``, ``sha256``). 201 when created; 200 when ``client_ref`` names an "
        "earlier identical submission; 409 ``replay_conflict`` when it names another.",
    )
    def create(self, request: Request) -> Response:
        data = TransferSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        outcome = transfers.transfer_submit(
            spacecraft=v["spacecraft"],
            allowed_spacecraft_ids=request_spacecraft_ids(request),
            direction=v["direction"],
            spec=spec_of(v),
            client_ref=v["client_ref"],
            actor=actor_name(request),
        )
        if outcome.needs_prepare:
            prepare_later([outcome.transfer.pk])
        return self.detail_response(outcome.transfer, 201 if outcome.created else 200)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.transfer_cancel)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.transfer_pause)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self.act(request, transfers.transfer_resume)

    @extend_schema(request=ReprioritiseSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def reprioritise(self, request: Request, pk: str | None = None) -> Response:
        return self.reprioritise_with(request, transfers.transfer_reprioritise)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            409: OpenApiResponse(
                description="not a completed downlink, or its file fails its check"
            ),
        },
        description="The content of a completed downlink, checked against its SHA-256 "
        "before it is sent (ETag and Repr-Digest carry the checksum).",
    )
    @action(detail=True, methods=["get"])
    def content(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        transfer = self.get_object()
        path = transfer_selectors.downlink_content(transfer=transfer)
        response = StreamingHttpResponse(_stream(path), content_type="application/octet-stream")
        response["Content-Length"] = str(transfer.size_bytes)
        filename = transfer.name.rsplit("/", 1)[-1]
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["ETag"] = f'"{transfer.sha256}"'
        response["X-Content-SHA256"] = transfer.sha256
        return response
