from django.contrib import admin

from telemetry.models import Metric


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin[Metric]):
    list_display = [
        "name",
        "unit",
        "kind",
        "warn_low",
        "warn_high",
        "crit_low",
        "crit_high",
        "auto_registered",
    ]
    list_filter = ["kind", "auto_registered"]
    search_fields = ["name", "description"]
