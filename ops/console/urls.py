from django.urls import path

from ops.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("nodes/<slug:slug>/", views.node, name="node"),
    path("nodes/<slug:slug>/series.json", views.node_series, name="node-series"),
    path("passes/", views.passes, name="passes"),
    path("passes/figure.json", views.passes_figure, name="passes-figure"),
    path("passes/<int:pk>/", views.pass_detail, name="pass"),
    path("passes/<int:pk>/sky.json", views.pass_sky, name="pass-sky"),
    path("map/", views.tracks, name="tracks"),
    path("map/figure.json", views.tracks_figure, name="tracks-figure"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/<int:pk>/<str:action>/", views.transfer_action, name="transfer-action"),
    path("workloads/<int:pk>/<str:action>/", views.workload_action, name="workload-action"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/history/", views.alert_history, name="alert-history"),
    path("alerts/audit/", views.alert_audit, name="alert-audit"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/<str:action>/", views.alert_action, name="alert-action"),
    path("registry/", views.registry, name="registry"),
]
