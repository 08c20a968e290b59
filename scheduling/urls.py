"""Scheduling API routes, included under /api/v1/ by the wiring."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from scheduling.api import contacts, passes, transfers, workloads

router = SimpleRouter(trailing_slash=False)
# Jobs first: /passes/jobs/{id} must not be read as a pass id (pass ids are digits too,
# but "jobs" is not, and the pass routes only take digits).
router.register("passes/jobs", passes.PredictionJobViewSet, basename="prediction-job")
router.register("passes", passes.PassViewSet, basename="pass")
router.register("contacts", contacts.ContactViewSet, basename="contact")
router.register("transfers", transfers.TransferViewSet, basename="transfer")
router.register("workloads", workloads.WorkloadViewSet, basename="workload")

urlpatterns: list[URLPattern | URLResolver] = [path("", include(router.urls))]
