"""Transfer and workload API views. Thin: parse, call one service, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.fleet.models import Spacecraft
from ops.fleet.permissions import actor_name, request_spacecraft_ids
from scheduling import tasks, transfer_selectors, transfer_services
from scheduling.exceptions import InvalidRequest
from scheduling.models import (
    Transfer,
    Workload,
)
from scheduling.transfer_api.serializers import (
    ACT,
    READ,
    REPORT,
    STREAM_BYTES,
    ReasonSerializer,
    ReprioritiseSerializer,
    TransferDetailSerializer,
    TransferFilter,
    TransferSerializer,
    TransferSubmitSerializer,
    WorkloadDetailSerializer,
    WorkloadFilter,
    WorkloadReportSerializer,
    WorkloadSerializer,
    WorkloadSubmitSerializer,
    _spec,
)

# --- views ------------------------------------------------------------------------------


def _pk(kwargs: dict[str, Any]) -> int:
    try:
        return int(kwargs["pk"])
    except (KeyError, ValueError):
        return -1  # found by nobody: a 404 like any unknown id


def _allowed(request: Request, spacecraft: Spacecraft) -> None:
    allowed = request_spacecraft_ids(request)
    if allowed is not None and spacecraft.pk not in allowed:
        raise InvalidRequest(
            "spacecraft outside this token",
            fields={"spacecraft": f"not allowed: {spacecraft.slug}"},
        )


def _prepare_later(transfer_ids: list[int]) -> None:
    for pk in transfer_ids:
        tasks.prepare_transfer.delay_on_commit(pk)


async def _stream(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while block := await asyncio.to_thread(f.read, STREAM_BYTES):
            yield block


class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Uploads to and downlinks from the fleet. ``progress`` counts acknowledged bytes;
    ``eta`` and ``deadline_risk`` are the transfer planner's forecast over the contact
    plan; ``rate_bps`` was measured over the last contact."""

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
            transfer_id=_pk(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    def _detail(self, transfer: Transfer, code: int = status.HTTP_200_OK) -> Response:
        found = transfer_selectors.transfer_get(transfer_id=transfer.pk)
        return Response(TransferDetailSerializer(found).data, status=code)

    def _act(self, request: Request, service: Any) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        t = service(
            transfer=self.get_object(),
            actor=actor_name(request),
            reason=data.validated_data["reason"],
        )
        return self._detail(t)

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
        _allowed(request, v["spacecraft"])
        outcome = transfer_services.transfer_submit(
            spacecraft=v["spacecraft"],
            direction=v["direction"],
            spec=_spec(v),
            client_ref=v["client_ref"],
            actor=actor_name(request),
        )
        if outcome.needs_prepare:
            _prepare_later([outcome.transfer.pk])
        return self._detail(outcome.transfer, 201 if outcome.created else 200)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.transfer_cancel)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.transfer_pause)

    @extend_schema(request=ReasonSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.transfer_resume)

    @extend_schema(request=ReprioritiseSerializer, responses=TransferDetailSerializer)
    @action(detail=True, methods=["post"])
    def reprioritise(self, request: Request, pk: str | None = None) -> Response:
        data = ReprioritiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        t = transfer_services.transfer_reprioritise(
            transfer=self.get_object(),
            actor=actor_name(request),
            priority=v.get("priority"),
            deadline=v["deadline"] if "deadline" in v else transfer_services.UNSET,
        )
        return self._detail(t)

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


class WorkloadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workloads: their uploads, the job on the node, and the result downlinks that
    appear when the node reports the job done."""

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
            workload_id=_pk(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    def _detail(self, workload: Workload, code: int = status.HTTP_200_OK) -> Response:
        found = transfer_selectors.workload_get(workload_id=workload.pk)
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
        _allowed(request, v["spacecraft"])
        workload, created, to_prepare = transfer_services.workload_submit(
            spacecraft=v["spacecraft"],
            name=v["name"],
            job=v["job"],
            uploads=[_spec(u) for u in v["uploads"]],
            priority=v["priority"],
            deadline=v["deadline"],
            client_ref=v["client_ref"],
            actor=actor_name(request),
        )
        _prepare_later(to_prepare)
        return self._detail(workload, 201 if created else 200)

    def _act(self, request: Request, service: Any) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        w = service(
            workload=self.get_object(),
            actor=actor_name(request),
            reason=data.validated_data["reason"],
        )
        return self._detail(w)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.workload_cancel)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.workload_pause)

    @extend_schema(request=ReasonSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, transfer_services.workload_resume)

    @extend_schema(request=ReprioritiseSerializer, responses=WorkloadDetailSerializer)
    @action(detail=True, methods=["post"])
    def reprioritise(self, request: Request, pk: str | None = None) -> Response:
        data = ReprioritiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        w = transfer_services.workload_reprioritise(
            workload=self.get_object(),
            actor=actor_name(request),
            priority=v.get("priority"),
            deadline=v["deadline"] if "deadline" in v else transfer_services.UNSET,
        )
        return self._detail(w)

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
        workload, _ = transfer_services.workload_report(
            workload=self.get_object(),
            state=v["state"],
            results=[
                transfer_services.ResultSpec(
                    name=r["name"], size_bytes=r["size_bytes"], sha256=r["sha256"], kind=r["kind"]
                )
                for r in v["results"]
            ],
            detail=v["detail"],
            actor=actor_name(request),
        )
        return self._detail(workload)
