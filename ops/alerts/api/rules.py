"""Alert rules: list, detail, create, edit, delete (by key). Bad rules answer 400 naming
every field at fault, and nothing is stored."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from ops.alerts import rulefiles
from ops.alerts.api import ACT, READ
from ops.alerts.exceptions import InvalidRulesFile
from ops.alerts.models import Condition, EscalationPolicy, LosPolicy, Rule, ScopeKind, Severity
from ops.alerts.selectors import alerts as selectors
from ops.alerts.services import rules as services
from ops.edge.access import actor_name, check_unrestricted, request_spacecraft_ids
from ops.fleet.fields import SpacecraftField


class LevelSerializer(serializers.Serializer[Any]):
    severity = serializers.ChoiceField(choices=Severity.choices)
    low = serializers.FloatField(required=False, allow_null=True)
    high = serializers.FloatField(required=False, allow_null=True)


class RuleSerializer(serializers.ModelSerializer[Rule]):
    spacecraft = SpacecraftField(
        required=False, allow_null=True, help_text="scope 'spacecraft': its slug"
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


class RawParser(BaseParser):
    """Leaves the body to the view (YAML is parsed with line numbers by ``rulefiles``)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return None


class ImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())


class RuleViewSet(viewsets.ModelViewSet):
    """Limit rules, by key. Levels: ``[{"severity", "low"?, "high"?}]``; rates per second."""

    serializer_class = RuleSerializer
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
    filter_backends: list[Any] = []
    read_scopes = READ
    write_scopes = ACT
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]
    action_scopes = {"import_yaml": ACT, "export_yaml": READ}

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

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR},
        responses=ImportResultSerializer,
        description="Create or update rules from a YAML document (the format of "
        "``manage.py alert_rules``), by key, all or nothing: any problem answers 400 with "
        "every one named ``request:<line>: rules[i].<field>`` and nothing is stored.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[RawParser])
    def import_yaml(self, request: Request) -> Response:
        check_unrestricted(allowed_spacecraft_ids=request_spacecraft_ids(request), action="rules")
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRulesFile("not UTF-8", fields={"body": "UTF-8 YAML"}) from None
        specs, errors = rulefiles.parse(text, name="request")
        if errors:
            first = next(iter(errors.items()))
            raise InvalidRulesFile(f"{first[0]}: {first[1]}", fields=errors)
        done = services.rules_apply(
            specs=[(s.key, s.values) for s in specs], actor=actor_name(request)
        )
        return Response(ImportResultSerializer(done).data)

    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="export")
    def export_yaml(self, request: Request) -> HttpResponse:
        text = rulefiles.dump(list(selectors.rule_list()))
        return HttpResponse(text, content_type="application/yaml")

    @extend_schema(description="Delete a rule; its alerts and its audit history stay.")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_unrestricted(allowed_spacecraft_ids=request_spacecraft_ids(request), action="rules")
        services.rule_delete(
            rule=self.get_object(),
            actor=actor_name(request),
            comment=str(request.query_params.get("comment", "")),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
