"""URL map: each app's routes are included by module name (the wiring imports none)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from zenith import views

urlpatterns = [
    path("api/v1/", include("ops.fleet.urls")),
    path("api/v1/", include("scheduling.urls")),
    path("api/v1/", include("ops.alerts.urls")),
    path("api/", include("telemetry.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("ops.console.urls")),
]

handler404 = "zenith.views.not_found"
handler500 = "zenith.views.server_error"
