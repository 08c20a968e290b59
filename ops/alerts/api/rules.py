"""Alert rules: list, detail, create, edit, delete (by key). Bad rules answer 400 naming
every field at fault, and nothing is stored."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ops.alerts.api import ACT, READ
from ops.alerts.models import Condition, EscalationPolicy, LosPolicy, Rule, ScopeKind, Severity
from ops.alerts.selectors import alerts as selectors
from ops.alerts.services import rules as services
from ops.edge.access import actor_name, check_unrestricted, request_spacecraft_ids
from ops.fleet.models import Spacecraft


class LevelSerializer(serializers.Serializer[Any]):
    severity = serializers.ChoiceField(choices=Severity.choices)
    low = serializers.FloatField(required=False, allow_null=True)
    high = serializers.FloatField(required=False, allow_null=True)


class RuleSerializer(serializers.ModelSerializer[Rule]):
    spacecraft: serializers.SlugRelatedField[Spacecraft] = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Spacecraft.objects.all(),
        required=False,
        allow_null=True,
        help_text="scope 'spacecraft': its slug",
    )
    escalation_policy: serializers.SlugRelatedField[EscalationPolicy] = (
        serializers.SlugRelatedField(
            slug_field="name",
            queryset=EscalationPolicy.objects.all(),
            required=False,
            allow_null=True,
        )
    )
    levels = LevelSerializer(many=True, required=False)
    condition = serializers.ChoiceField(choices=Condition.choices)
    scope = serializers.ChoiceField(choices=ScopeKind.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    los_policy = serializers.ChoiceField(choices=LosPolicy.choices, required=False)

    class Meta:
        model = Rule
        fields = ["key", *services.RULE_FIELDS, "created_at", "updated_at", "updated_by"]
        read_only_fields = ["created_at", "updated_at", "updated_by"]
        extra_kwargs: dict[str, dict[str, Any]] = {"key": {"validators": []}}

    def to_representation(self, instance: Rule) -> Any:
        data = super().to_representation(instance)
        data["levels"] = instance.levels  # as stored: only the bounds a level has
        return data

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "levels" in values:
            # Nulls dropped: {"severity": "warning", "high": 80} is the stored shape.
            values["levels"] = [
                {k: v for k, v in dict(level).items() if v is not None}
                for level in values["levels"]
            ]
        return values


class RuleEditSerializer(RuleSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)

    class Meta(RuleSerializer.Meta):
        fields = [*RuleSerializer.Meta.fields, "comment"]
        read_only_fields = ["key", *RuleSerializer.Meta.read_only_fields]


class RuleViewSet(viewsets.ModelViewSet):
    """Limit rules, by key. Levels: ``[{"severity", "low"?, "high"?}]``; rates per second."""

    serializer_class = RuleSerializer
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
    filter_backends: list[Any] = []
    read_scopes = READ
    write_scopes = ACT
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Rule]:
        return selectors.rule_list(metric=self.request.query_params.get("metric") or None)

    def get_object(self) -> Rule:
        return selectors.rule_get(key=str(self.kwargs.get("key", "")))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return RuleEditSerializer if self.action in ("update", "partial_update") else RuleSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_unrestricted(allowed_spacecraft_ids=request_spacecraft_ids(request), action="rules")
        data = RuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        key = values.pop("key")
        rule = services.rule_create(key=key, values=values, actor=actor_name(request))
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_unrestricted(allowed_spacecraft_ids=request_spacecraft_ids(request), action="rules")
        rule = self.get_object()
        data = RuleEditSerializer(rule, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        comment = values.pop("comment", "")
        rule, _changed = services.rule_update(
            rule=rule, values=values, actor=actor_name(request), comment=comment
        )
        return Response(RuleSerializer(rule).data)

    @extend_schema(description="Delete a rule; its alerts and its audit history stay.")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_unrestricted(allowed_spacecraft_ids=request_spacecraft_ids(request), action="rules")
        services.rule_delete(
            rule=self.get_object(),
            actor=actor_name(request),
            comment=str(request.query_params.get("comment", "")),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
