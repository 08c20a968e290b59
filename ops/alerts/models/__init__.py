"""Alert models, a module per topic: rules, alerts, notify, oncall, audit."""

from ops.alerts.models.alerts import OPEN_STATES, Alert, AlertState, Source
from ops.alerts.models.audit import AuditEntry
from ops.alerts.models.notify import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationKind,
)
from ops.alerts.models.oncall import Override, Rotation, Schedule
from ops.alerts.models.rules import (
    SEVERITIES,
    SEVERITY_RANK,
    Condition,
    LosPolicy,
    Rule,
    RuleSetVersion,
    RuleState,
    ScopeKind,
    Severity,
    SpacecraftTag,
)

__all__ = [
    "OPEN_STATES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Alert",
    "AlertState",
    "AuditEntry",
    "Channel",
    "ChannelKind",
    "Condition",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "EscalationPolicy",
    "EscalationStep",
    "LosPolicy",
    "Notification",
    "NotificationKind",
    "Override",
    "Rotation",
    "Rule",
    "RuleSetVersion",
    "RuleState",
    "Schedule",
    "ScopeKind",
    "Severity",
    "Source",
    "SpacecraftTag",
]
