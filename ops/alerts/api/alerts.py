"""Alerts: list and filter, detail with history, and the on-call actions (each with a
comment): ack, unack, shelve, unshelve, reset, assign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ops.alerts import hooks
from ops.alerts.api import ACT, READ
from ops.alerts.models import Alert, AlertState, AuditEntry, Severity, Source
from ops.alerts.selectors import alerts as selectors
from ops.alerts.services import lifecycle
from ops.edge.access import actor_name, request_spacecraft_ids
from ops.edge.fields import path_id, state_pattern
from ops.fleet.fields import SpacecraftField


@extend_schema_field(state_pattern(AlertState.values))
class AlertStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=AlertState.choices, **kwargs)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    spacecraft = SpacecraftField(read_only=True)
    rule = serializers.CharField(source="rule_key", read_only=True)
    state = AlertStateField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "source",
            "rule",
            "dedup_key",
            "spacecraft",
            "metric",
            "summary",
            "severity",
            "state",
            "active",
            "value",
            "started_at",
            "cleared_at",
            "raised_at",
            "updated_at",
            "backlog",
            "runbook_url",
            "acked_at",
            "acked_by",
            "assignee",
            "shelved_until",
            "shelved_by",
            "escalation_step",
            "escalation_round",
            "next_escalation_at",
            "details",
        ]
        read_only_fields = fields


class HistorySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = ["at", "actor", "action", "comment", "detail"]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    history = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "history"]
        read_only_fields = fields

    def get_history(self, alert: Alert) -> list[dict[str, Any]]:
        entries = selectors.alert_history(alert=alert)
        return list(HistorySerializer(entries, many=True).data)


class CommentSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ShelveSerializer(CommentSerializer):
    until = serializers.DateTimeField(help_text="UTC; at most ALERTS_MAX_SHELVE_H ahead")


class AssignSerializer(CommentSerializer):
    assignee = serializers.CharField(max_length=150, allow_blank=True)


class AlertFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=AlertState.choices)
    severity = filters.MultipleChoiceFilter(choices=Severity.choices)
    spacecraft = filters.CharFilter(field_name="spacecraft__slug")
    rule = filters.CharFilter(field_name="rule_key")
    source = filters.ChoiceFilter(choices=Source.choices)
    active = filters.BooleanFilter()
    shelved = filters.BooleanFilter(method="filter_shelved", label="shelved now")
    open = filters.BooleanFilter(method="filter_open", label="true: every state but normal")
    since = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["state", "severity", "spacecraft", "rule", "source", "active"]

    def filter_shelved(self, queryset: QuerySet[Alert], name: str, value: bool) -> QuerySet[Alert]:
        now = timezone.now()
        if value:
            return queryset.filter(shelved_until__gt=now)
        return queryset.exclude(shelved_until__gt=now)

    def filter_open(self, queryset: QuerySet[Alert], name: str, value: bool) -> QuerySet[Alert]:
        return queryset.exclude(state=AlertState.NORMAL) if value else queryset


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alert occurrences, newest first. Times are UTC."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["raised_at", "started_at", "updated_at"]
    ordering = ["-raised_at"]
    lookup_value_regex = r"\d+"
    read_scopes = READ
    write_scopes = ACT
    action_scopes = {
        name: ACT for name in ("ack", "unack", "shelve", "unshelve", "reset", "assign")
    } | {"list": READ, "retrieve": READ}

    def get_queryset(self) -> QuerySet[Alert]:
        return selectors.alert_list(allowed_spacecraft_ids=request_spacecraft_ids(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return AlertDetailSerializer if self.action == "retrieve" else AlertSerializer

    def get_object(self) -> Alert:
        return selectors.alert_get(
            alert_id=path_id(self.kwargs),
            allowed_spacecraft_ids=request_spacecraft_ids(self.request),
        )

    def _act(
        self,
        request: Request,
        parser: type[CommentSerializer],
        call: Callable[..., Alert],
        **extra: Any,
    ) -> Response:
        data = parser(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        call(
            alert_id=path_id(self.kwargs),
            actor=actor_name(request),
            allowed_spacecraft_ids=request_spacecraft_ids(request),
            **values,
            **extra,
        )
        hooks.dispatch_soon()
        return Response(AlertDetailSerializer(self.get_object()).data)

    @extend_schema(
        request=CommentSerializer,
        responses=AlertDetailSerializer,
        description="Acknowledge: stops escalation; lasts until the alert clears. "
        "A returned (cleared) alert closes. 409 when there is nothing to ack.",
    )
    @action(detail=True, methods=["post"])
    def ack(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, CommentSerializer, lifecycle.alert_ack)

    @extend_schema(
        request=CommentSerializer,
        responses=AlertDetailSerializer,
        description="Take an ack back: unacknowledged again, escalation restarts.",
    )
    @action(detail=True, methods=["post"])
    def unack(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, CommentSerializer, lifecycle.alert_unack)

    @extend_schema(
        request=ShelveSerializer,
        responses=AlertDetailSerializer,
        description="Shelve until a time: no notifications meanwhile; when it "
        "expires a still-active alert notifies again.",
    )
    @action(detail=True, methods=["post"])
    def shelve(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, ShelveSerializer, lifecycle.alert_shelve)

    @extend_schema(request=CommentSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def unshelve(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, CommentSerializer, lifecycle.alert_unshelve)

    @extend_schema(
        request=CommentSerializer,
        responses=AlertDetailSerializer,
        description="Reset a latched alert whose condition has cleared.",
    )
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, CommentSerializer, lifecycle.alert_reset)

    @extend_schema(request=AssignSerializer, responses=AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, AssignSerializer, lifecycle.alert_assign)
