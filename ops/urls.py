from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from ops import views
from ops.fleet import api as fleet_api

router = DefaultRouter(trailing_slash=False)
router.register("spacecraft", fleet_api.SpacecraftViewSet, basename="spacecraft")
router.register("orbit-sets", fleet_api.OrbitSetViewSet, basename="orbit-set")
router.register("stations", fleet_api.GroundStationViewSet, basename="station")
router.register("service-accounts", fleet_api.ServiceAccountViewSet, basename="service-account")
router.register("tokens", fleet_api.ApiTokenViewSet, basename="token")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/v1/", include("scheduling.urls")),
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

handler404 = "ops.console.views.not_found"
handler500 = "ops.console.views.server_error"
