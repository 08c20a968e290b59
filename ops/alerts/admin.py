"""Django admin for alerts. Rule and tag edits go through the same services as the API
(checked whole, audited, rule set recompiled); alerts change only through their actions;
the audit and the delivery log are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from ops.alerts.exceptions import InvalidRule
from ops.alerts.models import (
    Alert,
    AuditEntry,
    Channel,
    Delivery,
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    Notification,
    Override,
    Rotation,
    Rule,
    Schedule,
    SpacecraftTag,
)
from ops.alerts.services import rules as rule_services


class RuleForm(forms.ModelForm[Rule]):
    runbook_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = Rule
        fields = ["key", *rule_services.RULE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = {**rule_services.DEFAULTS, **{k: data.get(k) for k in rule_services.RULE_FIELDS}}
        errors = rule_services.rule_errors(values)
        if errors:
            raise ValidationError(
                {k if k in self.fields else "levels": v for k, v in errors.items()}
            )
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ["key", "name", "metric", "condition", "scope", "severity", "enabled"]
    list_filter = ["condition", "scope", "enabled", "latching"]
    search_fields = ["key", "name", "metric"]

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        actor = request.user.get_username()
        values = {k: form.cleaned_data.get(k) for k in rule_services.RULE_FIELDS}
        try:
            if change:
                current = Rule.objects.get(pk=obj.pk)
                rule_services.rule_update(rule=current, values=values, actor=actor)
            else:
                created = rule_services.rule_create(key=obj.key, values=values, actor=actor)
                obj.pk = created.pk
        except InvalidRule as exc:
            raise ValidationError(exc.fields or exc.detail) from None

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        rule_services.rule_delete(rule=obj, actor=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        for rule in queryset:
            self.delete_model(request, rule)


@admin.register(SpacecraftTag)
class SpacecraftTagAdmin(admin.ModelAdmin[SpacecraftTag]):
    list_display = ["tag", "spacecraft"]
    search_fields = ["tag", "spacecraft__slug"]

    def _resync(self, request: HttpRequest, obj: SpacecraftTag) -> None:
        tags = list(
            SpacecraftTag.objects.filter(spacecraft=obj.spacecraft).values_list("tag", flat=True)
        )
        rule_services.spacecraft_tags_set(
            spacecraft=obj.spacecraft, tags=tags, actor=request.user.get_username()
        )

    def save_model(self, request: HttpRequest, obj: SpacecraftTag, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._resync(request, obj)

    def delete_model(self, request: HttpRequest, obj: SpacecraftTag) -> None:
        super().delete_model(request, obj)
        self._resync(request, obj)


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    list_display = ["id", "summary", "severity", "state", "active", "started_at", "assignee"]
    list_filter = ["state", "severity", "source", "active", "backlog"]
    search_fields = ["summary", "rule_key", "dedup_key"]


@admin.register(AuditEntry)
class AuditAdmin(ReadOnly):
    list_display = ["at", "actor", "action", "alert_id", "rule_key", "spacecraft", "comment"]
    list_filter = ["action"]
    search_fields = ["actor", "rule_key", "spacecraft", "comment"]


class AttemptInline(admin.TabularInline[DeliveryAttempt, Delivery]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "worker",
        "started_at",
        "duration_ms",
        "ok",
        "status_code",
        "error",
    ]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["id", "transport", "target", "state", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["state", "transport"]
    inlines = [AttemptInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ["id", "alert", "kind", "step", "created_at", "processed_at", "suppressed"]
    list_filter = ["kind"]


class StepInline(admin.TabularInline[EscalationStep, EscalationPolicy]):
    model = EscalationStep
    extra = 1


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin[EscalationPolicy]):
    list_display = ["name", "routing_key", "repeat"]
    inlines = [StepInline]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin[Channel]):
    list_display = ["name", "kind", "url", "is_default", "enabled"]
    list_filter = ["kind", "enabled"]


class RotationInline(admin.TabularInline[Rotation, Schedule]):
    model = Rotation
    extra = 0


class OverrideInline(admin.TabularInline[Override, Schedule]):
    model = Override
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    list_display = ["name", "time_zone"]
    inlines = [RotationInline, OverrideInline]
