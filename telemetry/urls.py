"""Telemetry API routes, included under /api/ by ops/urls.py."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from telemetry import api

router = SimpleRouter(trailing_slash=False)
router.register("v1/metrics", api.MetricViewSet, basename="metric")

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/telemetry", api.TelemetryIngestView.as_view(), name="telemetry-ingest"),
    path("v2/write", api.LineProtocolWriteView.as_view(), name="telemetry-write"),
    path("v1/telemetry/series", api.SeriesView.as_view(), name="telemetry-series"),
    path("v1/telemetry/latest", api.LatestNodeView.as_view(), name="telemetry-latest"),
    path("v1/telemetry/fleet", api.LatestFleetView.as_view(), name="telemetry-fleet"),
    path("v1/telemetry/export.csv", api.ExportView.as_view(), name="telemetry-export"),
    path(
        "v1/telemetry/mqtt-credentials",
        api.MqttCredentialsView.as_view(),
        name="telemetry-mqtt-credentials",
    ),
    *router.urls,
]
