"""Named scheduling errors. The API edge turns them into JSON errors with the field at fault."""

from __future__ import annotations


class SchedulingError(Exception):
    """Base of scheduling domain errors (registered with the API's error handler)."""

    code = "scheduling_error"
    status = 400

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


class InvalidWindow(SchedulingError):
    code = "invalid_window"


class InvalidRequest(SchedulingError):
    code = "invalid"


class NotFound(SchedulingError):
    code = "not_found"
    status = 404


class NoOrbit(SchedulingError):
    """The spacecraft has no orbit set to predict from."""

    code = "no_orbit_set"
    status = 409
