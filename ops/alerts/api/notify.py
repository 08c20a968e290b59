"""Notifications: the delivery log (dead letters included, with every attempt), retrying
a dead delivery, and who is on call now."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.alerts import hooks
from ops.alerts.api import ACT, READ, params
from ops.alerts.models import Delivery, DeliveryAttempt, DeliveryState
from ops.alerts.selectors import notify as selectors
from ops.alerts.services import delivery as services
from ops.alerts.services import staleness
from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id
from ops.fleet.models import Spacecraft


class AttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "worker", "started_at", "duration_ms", "ok", "status_code", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    alert_id = serializers.IntegerField(source="notification.alert_id", read_only=True)
    kind = serializers.CharField(source="notification.kind", read_only=True)
    channel = serializers.CharField(source="channel.name", read_only=True, default=None)
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "alert_id",
            "kind",
            "channel",
            "transport",
            "target",
            "state",
            "attempts",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "last_error",
            "log",
        ]
        read_only_fields = fields


class DeliveryFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=DeliveryState.choices)
    alert = filters.NumberFilter(field_name="notification__alert_id")

    class Meta:
        model = Delivery
        fields = ["state", "alert"]


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every notification sent or being sent, newest first; ``state=dead`` lists the dead
    letters (gave up after ``ALERTS_MAX_ATTEMPTS``)."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "next_attempt_at"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"
    read_scopes = READ
    write_scopes = ACT

    def get_queryset(self) -> QuerySet[Delivery]:
        return selectors.delivery_list(allowed_spacecraft_ids=request_spacecraft_ids(self.request))

    @extend_schema(
        request=None,
        responses=DeliverySerializer,
        description="Queue a dead-lettered delivery again.",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        self.get_object()  # 404 outside the caller's spacecraft
        services.delivery_retry(delivery_id=path_id(self.kwargs), actor=actor_name(request))
        hooks.dispatch_soon()
        return Response(DeliverySerializer(self.get_object()).data)


class OnCallSerializer(serializers.Serializer[Any]):
    schedule = serializers.CharField()
    time_zone = serializers.CharField()
    username = serializers.CharField(allow_null=True)
    via = serializers.CharField(help_text="override, or the rotation's name")
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)


class OnCallView(APIView):
    """Who is on call now (or ``at``), per schedule."""

    read_scopes = READ

    @extend_schema(
        parameters=[
            OpenApiParameter("at", str, description="ISO 8601; default now"),
            OpenApiParameter("schedule", str),
        ],
        responses=OnCallSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        at = params.query_time(request, "at") or timezone.now()
        found = selectors.oncall_now(at=at, schedule_name=request.query_params.get("schedule"))
        return Response(OnCallSerializer(found, many=True).data)


class VisibilitySerializer(serializers.Serializer[Any]):
    spacecraft = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField(help_text="ok, stale, los (expected silence), aos_no_telemetry")
    in_contact = serializers.BooleanField()
    last_seen = serializers.DateTimeField(allow_null=True)


class VisibilityView(APIView):
    """Link status per spacecraft, pass-aware: LEO silence outside contacts is ``los``."""

    read_scopes = READ

    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="ISO 8601; default now")],
        responses=VisibilitySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        at = params.query_time(request, "at") or timezone.now()
        found = staleness.visibility_now(now=at)
        allowed = request_spacecraft_ids(request)
        if allowed is not None:
            slugs = set(Spacecraft.objects.filter(pk__in=allowed).values_list("slug", flat=True))
            found = [v for v in found if v.spacecraft in slugs]
        return Response(VisibilitySerializer(found, many=True).data)
