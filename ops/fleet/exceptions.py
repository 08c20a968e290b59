"""Named fleet errors. The API edge turns them into 4xx JSON with the field at fault."""

from __future__ import annotations

from ops.edge.exceptions import DomainError


class FleetError(DomainError):
    """Base of fleet domain errors."""

    code = "fleet_error"


class ValidationFailed(FleetError):
    code = "invalid"
    status = 400


class NotFound(FleetError):
    code = "not_found"
    status = 404


class Conflict(FleetError):
    code = "conflict"
    status = 409


class InvalidTle(ValidationFailed):
    code = "invalid_tle"


class InvalidElements(ValidationFailed):
    code = "invalid_elements"


class InvalidHorizonMask(ValidationFailed):
    code = "invalid_horizon_mask"
