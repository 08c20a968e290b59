"""Read-mostly admin views of predictions: rows are written by the prediction service."""

from __future__ import annotations

from django.contrib import admin

from scheduling.models import (
    Contact,
    ContactEvent,
    Pass,
    PassCoverage,
    PredictionChunk,
    PredictionJob,
)


@admin.register(Pass)
class PassAdmin(admin.ModelAdmin[Pass]):
    list_display = ["spacecraft", "station", "aos", "los", "max_elevation_deg", "orbit_set"]
    list_filter = ["station", "aos_clipped", "los_clipped"]
    search_fields = ["spacecraft__slug", "station__slug"]
    date_hierarchy = "aos"
    readonly_fields = [f.name for f in Pass._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(PassCoverage)
class PassCoverageAdmin(admin.ModelAdmin[PassCoverage]):
    list_display = ["spacecraft", "orbit_set", "horizon_end", "predicted_at"]
    readonly_fields = [
        "spacecraft",
        "orbit_set",
        "stations_fingerprint",
        "horizon_end",
        "predicted_at",
    ]


class ChunkInline(admin.TabularInline[PredictionChunk, PredictionJob]):
    model = PredictionChunk
    extra = 0
    fields = ("index", "state", "progress", "passes_stored", "errors", "finished_at")
    readonly_fields = fields
    can_delete = False


@admin.register(PredictionJob)
class PredictionJobAdmin(admin.ModelAdmin[PredictionJob]):
    list_display = ["id", "state", "progress", "start", "end", "passes_stored", "created_at"]
    list_filter = ["state"]
    inlines = [ChunkInline]
    readonly_fields = [f.name for f in PredictionJob._meta.fields]


class ContactEventInline(admin.TabularInline[ContactEvent, Contact]):
    model = ContactEvent
    extra = 0
    fields = ("at", "from_state", "to_state", "actor", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    """Read-only: contacts change through the contact services (events stay truthful)."""

    list_display = ["id", "spacecraft", "station", "antenna", "start", "end", "state", "booked_by"]
    list_filter = ["state", "manual", "station"]
    search_fields = ["spacecraft__slug", "station__slug", "booked_by"]
    date_hierarchy = "start"
    inlines = [ContactEventInline]
    readonly_fields = [f.name for f in Contact._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
