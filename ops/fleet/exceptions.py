"""Named fleet errors. The API edge turns them into 4xx JSON with the field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every app's named errors: the API edge answers ``status`` with
    ``{"error": code, "detail": detail, "fields": fields}`` for any subclass."""

    code = "error"
    status = 400

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


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
