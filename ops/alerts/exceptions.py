"""Named alert errors. The API edge turns them into JSON errors naming the field at fault."""

from __future__ import annotations

from ops.edge.exceptions import DomainError


class AlertsError(DomainError):
    code = "alerts_error"


class InvalidRule(AlertsError):
    code = "invalid_rule"


class InvalidRequest(AlertsError):
    code = "invalid"


class InvalidEvent(AlertsError):
    """An Events API or Alertmanager payload we cannot take (nothing is stored)."""

    code = "invalid_event"


class InvalidRulesFile(AlertsError):
    """A YAML rules file refused whole; ``fields`` are ``file:line: field`` keyed."""

    code = "invalid_rules_file"


class NotFound(AlertsError):
    code = "not_found"
    status = 404


class WrongState(AlertsError):
    """The action does not apply to the alert as it is (ack a closed alert, reset an
    active one)."""

    code = "wrong_state"
    status = 409


class NotAllowed(AlertsError):
    code = "permission_denied"
    status = 403


class TransportError(AlertsError):
    """A notification could not be delivered (network, refusal); retried with backoff."""

    code = "transport_error"
    status = 502

    def __init__(self, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
