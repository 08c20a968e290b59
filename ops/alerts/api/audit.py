"""The audit log: filterable, paginated, and as CSV (``/alerts/audit.csv``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from ops.alerts.api import READ, params
from ops.alerts.exceptions import InvalidRequest
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


FILTERS = [
    OpenApiParameter("actor", str),
    OpenApiParameter("action", str, description="e.g. alert.acknowledged, or a prefix: alert"),
    OpenApiParameter("alert", int),
    OpenApiParameter("rule", str),
    OpenApiParameter("spacecraft", str),
    OpenApiParameter("since", str),
    OpenApiParameter("until", str),
]


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every alert state change, notification and rule edit, newest first. Append-only."""

    serializer_class = AuditSerializer
    filter_backends: list[Any] = []
    read_scopes = READ

    def get_queryset(self) -> QuerySet[AuditEntry]:
        query = self.request.query_params
        alert = query.get("alert")
        if alert is not None and not alert.isdigit():
            raise InvalidRequest("alert must be an id", fields={"alert": "an integer"})
        # The audit names spacecraft by slug; a restricted token needs an unrestricted one.
        check_unrestricted(
            allowed_spacecraft_ids=request_spacecraft_ids(self.request), action="audit"
        )
        return selectors.audit_list(
            actor=query.get("actor") or None,
            action=query.get("action") or None,
            alert_id=int(alert) if alert else None,
            rule_key=query.get("rule") or None,
            spacecraft=query.get("spacecraft") or None,
            since=params.query_time(self.request, "since"),
            until=params.query_time(self.request, "until"),
        )

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="csv")
    def export(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            selectors.audit_csv(self.get_queryset()), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="alerts-audit.csv"'
        return response
