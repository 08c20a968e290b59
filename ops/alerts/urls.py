"""Alert API routes, included under /api/v1/ by the wiring."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import SimpleRouter

from ops.alerts.api import alerts, audit, notify, rules, sources

router = SimpleRouter(trailing_slash=False)
# Named resources under /alerts/ first: alert ids are digits only, so these never clash.
router.register("alerts/audit", audit.AuditViewSet, basename="alert-audit")
router.register("alerts/rules", rules.RuleViewSet, basename="alert-rule")
router.register("alerts/deliveries", notify.DeliveryViewSet, basename="alert-delivery")
router.register("alerts", alerts.AlertViewSet, basename="alert")

urlpatterns: list[URLPattern | URLResolver] = [
    path("alerts/oncall", notify.OnCallView.as_view(), name="alert-oncall"),
    path("alerts/events", sources.EventsView.as_view(), name="alert-events"),
    path("alerts/alertmanager", sources.AlertmanagerView.as_view(), name="alert-alertmanager"),
    path("alerts/visibility", notify.VisibilityView.as_view(), name="alert-visibility"),
    path("", include(router.urls)),
]
