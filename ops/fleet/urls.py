"""Fleet API routes, included under /api/v1/ by the wiring."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import DefaultRouter

from ops.fleet import api

router = DefaultRouter(trailing_slash=False)
router.register("spacecraft", api.SpacecraftViewSet, basename="spacecraft")
router.register("orbit-sets", api.OrbitSetViewSet, basename="orbit-set")
router.register("stations", api.GroundStationViewSet, basename="station")
router.register("service-accounts", api.ServiceAccountViewSet, basename="service-account")
router.register("tokens", api.ApiTokenViewSet, basename="token")

urlpatterns: list[URLPattern | URLResolver] = [path("", include(router.urls))]
