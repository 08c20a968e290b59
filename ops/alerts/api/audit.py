"""The audit log: filterable, paginated, and as CSV (``/alerts/audit.csv``)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from ops.alerts.api import READ
from ops.alerts.models import AuditEntry
from ops.alerts.selectors import alerts as selectors
from ops.edge.access import check_unrestricted, request_spacecraft_ids


class AuditSerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "alert_id",
            "rule_key",
            "spacecraft",
            "comment",
            "detail",
        ]
        read_only_fields = fields


class AuditFilter(filters.FilterSet):
    actor = filters.CharFilter()
    action = filters.CharFilter(method="filter_action", label="an action, or a prefix: alert")
    alert = filters.NumberFilter(field_name="alert_id")
    rule = filters.CharFilter(field_name="rule_key")
    spacecraft = filters.CharFilter()
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "alert", "rule", "spacecraft"]

    def filter_action(
        self, queryset: QuerySet[AuditEntry], name: str, value: str
    ) -> QuerySet[AuditEntry]:
        return queryset.filter(Q(action=value) | Q(action__startswith=f"{value}."))


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every alert state change, notification and rule edit, newest first. Append-only."""

    serializer_class = AuditSerializer
    filterset_class = AuditFilter
    ordering_fields = ["at"]
    ordering = ["-at"]
    read_scopes = READ

    def get_queryset(self) -> QuerySet[AuditEntry]:
        # The audit names spacecraft by slug; a restricted token needs an unrestricted one.
        check_unrestricted(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request), action="audit"
        )
        return selectors.audit_list()

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="csv")
    def export(self, request: Request) -> StreamingHttpResponse:
        entries = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(selectors.audit_csv(entries), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="alerts-audit.csv"'
        return response
