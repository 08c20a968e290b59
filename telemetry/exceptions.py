"""Named telemetry errors; the API edge maps them to 4xx/5xx JSON with the field at fault."""

from __future__ import annotations

from ops.edge.exceptions import DomainError


class TelemetryError(DomainError):
    code = "telemetry_error"


class InvalidTelemetry(TelemetryError):
    """The batch is malformed or a value is out of bounds. Nothing was written."""

    code = "invalid_telemetry"


class UnknownNode(InvalidTelemetry):
    code = "unknown_node"


class UnknownMetric(InvalidTelemetry):
    code = "unknown_metric"


class NodeNotAllowed(TelemetryError):
    """The token is restricted to other spacecraft."""

    code = "node_not_allowed"
    status = 403


class BodyTooLarge(TelemetryError):
    code = "body_too_large"
    status = 413


class UnsupportedEncoding(TelemetryError):
    code = "unsupported_encoding"
    status = 415


class TooManyPoints(TelemetryError):
    code = "too_many_points"
    status = 413


class NotAnIngestToken(TelemetryError):
    """MQTT credentials belong to a live API token with the ``ingest`` scope."""

    code = "not_an_ingest_token"
    status = 403
