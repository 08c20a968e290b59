"""Operator console pages, one module per page: thin (a console selector, a figure, a
template). Every page needs a console role (``ops.console.access``); every action the
``operate`` scope, checked again on the server whatever the page showed."""

from ops.console.views.alerts import alert_action, alert_audit, alert_detail, alert_history, alerts
from ops.console.views.fleet import home, registry
from ops.console.views.node import node, node_series
from ops.console.views.passes import pass_detail, pass_sky, passes, passes_figure
from ops.console.views.tracks import tracks, tracks_figure
from ops.console.views.transfers import transfer_action, transfers, workload_action

__all__ = [
    "alert_action",
    "alert_audit",
    "alert_detail",
    "alert_history",
    "alerts",
    "home",
    "node",
    "node_series",
    "pass_detail",
    "pass_sky",
    "passes",
    "passes_figure",
    "registry",
    "tracks",
    "tracks_figure",
    "transfer_action",
    "transfers",
    "workload_action",
]
