"""Scheduling API routes, included under /api/v1/ by ops/urls.py."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from scheduling import api, contact_api, transfer_api

router = SimpleRouter(trailing_slash=False)
# Jobs first: /passes/jobs/{id} must not be read as a pass id (pass ids are digits too,
# but "jobs" is not, and the pass routes only take digits).
router.register("passes/jobs", api.PredictionJobViewSet, basename="prediction-job")
router.register("passes", api.PassViewSet, basename="pass")
router.register("contacts", contact_api.ContactViewSet, basename="contact")
router.register("transfers", transfer_api.TransferViewSet, basename="transfer")
router.register("workloads", transfer_api.WorkloadViewSet, basename="workload")

urlpatterns: list[URLPattern | URLResolver] = [path("", include(router.urls))]
