"""Django admin for the registry. Writes go through the same services as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from ops.edge.access import ALL_SCOPES
from ops.fleet import services, tokencache
from ops.fleet.exceptions import FleetError
from ops.fleet.models import (
    ApiToken,
    GroundStation,
    MaintenanceWindow,
    OrbitSet,
    ServiceAccount,
    Spacecraft,
)


@admin.register(Spacecraft)
class SpacecraftAdmin(admin.ModelAdmin[Spacecraft]):
    list_display = ["slug", "name", "norad_id", "role", "priority", "active"]
    list_filter = ["role", "active"]
    search_fields = ["slug", "name", "norad_id"]


class OrbitSetForm(forms.ModelForm[OrbitSet]):
    class Meta:
        model = OrbitSet
        fields = ["spacecraft", "line1", "line2", "source"]
        widgets = {
            "line1": forms.TextInput(attrs={"size": 72, "style": "font-family: monospace"}),
            "line2": forms.TextInput(attrs={"size": 72, "style": "font-family: monospace"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.check_tle(line1=data.get("line1", ""), line2=data.get("line2", ""))
        except FleetError as exc:
            raise ValidationError(exc.fields or exc.detail) from None
        return data


@admin.register(OrbitSet)
class OrbitSetAdmin(admin.ModelAdmin[OrbitSet]):
    """Orbit sets are provenance: added (as TLEs) but never edited or deleted here."""

    form = OrbitSetForm
    list_display = ["spacecraft", "kind", "epoch", "source", "loaded_at", "loaded_by"]
    list_filter = ["kind"]
    search_fields = ["spacecraft__slug", "source"]
    date_hierarchy = "epoch"

    def has_change_permission(self, request: HttpRequest, obj: OrbitSet | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OrbitSet | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OrbitSet, form: Any, change: bool) -> None:
        result = services.orbit_set_load_tle(
            spacecraft=obj.spacecraft,
            line1=obj.line1,
            line2=obj.line2,
            source=obj.source or "admin",
            loaded_by=request.user.get_username(),
        )
        obj.pk = result.orbit_set.pk
        if not result.created:
            self.message_user(request, "That TLE was already loaded.", messages.WARNING)


class MaintenanceInline(admin.TabularInline[MaintenanceWindow, GroundStation]):
    model = MaintenanceWindow
    extra = 0
    fields = ["starts_at", "ends_at", "reason", "created_by"]
    readonly_fields = ["created_by"]


class GroundStationForm(forms.ModelForm[GroundStation]):
    class Meta:
        model = GroundStation
        fields = list(services.STATION_FIELDS)

    def clean_horizon_mask(self) -> Any:
        from orbital.elements import check_horizon_mask

        try:
            return [
                [az, el] for az, el in check_horizon_mask(self.cleaned_data.get("horizon_mask"))
            ]
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


@admin.register(GroundStation)
class GroundStationAdmin(admin.ModelAdmin[GroundStation]):
    form = GroundStationForm
    list_display = [
        "slug",
        "name",
        "latitude_deg",
        "longitude_deg",
        "min_elevation_deg",
        "antennas",
        "active",
    ]
    list_filter = ["active"]
    search_fields = ["slug", "name"]
    inlines = [MaintenanceInline]


class MaintenanceWindowForm(forms.ModelForm[MaintenanceWindow]):
    class Meta:
        model = MaintenanceWindow
        fields = ["station", "starts_at", "ends_at", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        station, starts, ends = data.get("station"), data.get("starts_at"), data.get("ends_at")
        if station and starts and ends:
            if ends <= starts:
                raise ValidationError({"ends_at": "must be after starts_at"})
            clash = MaintenanceWindow.objects.filter(
                station=station, starts_at__lt=ends, ends_at__gt=starts
            ).exclude(pk=self.instance.pk)
            if clash.exists():
                raise ValidationError({"starts_at": f"overlaps window {clash.first()}"})
        return data


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin[MaintenanceWindow]):
    form = MaintenanceWindowForm
    list_display = ["station", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["station"]
    readonly_fields = ["created_by"]

    def save_model(
        self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin[ServiceAccount]):
    list_display = ["name", "description", "active", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: ServiceAccount, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        # A deactivated account's tokens must stop working now, not when a cache lapses.
        transaction.on_commit(tokencache.clear)

    def has_delete_permission(
        self, request: HttpRequest, obj: ServiceAccount | None = None
    ) -> bool:
        return False  # deactivate instead


class ApiTokenForm(forms.ModelForm[ApiToken]):
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in sorted(ALL_SCOPES)], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = ["account", "name", "scopes", "spacecraft", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are created (secret shown once) and revoked; never edited."""

    form = ApiTokenForm
    list_display = [
        "account",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["account"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead: the row stays as the record of who had access

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("fleet.delete_apitoken"))

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        try:
            issued = services.token_create(
                account=form.cleaned_data["account"],
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                spacecraft=form.cleaned_data["spacecraft"],
                expires_at=form.cleaned_data["expires_at"],
                created_by=request.user.get_username(),
            )
        except FleetError as exc:
            self.message_user(
                request, f"Token not created: {exc.detail} {exc.fields}", messages.ERROR
            )
            return
        obj.pk = issued.token.pk
        self.message_user(
            request,
            f"Token created. Copy it now, it will not be shown again: {issued.secret}",
            messages.WARNING,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # token_create has set the spacecraft restriction

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.token_revoke(token_id=token.pk, revoked_by=request.user.get_username())
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
