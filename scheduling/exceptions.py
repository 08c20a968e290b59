"""Named scheduling errors. The API edge turns them into JSON errors with the field at fault."""

from __future__ import annotations

from ops.edge.exceptions import DomainError


class SchedulingError(DomainError):
    """Base of scheduling domain errors."""

    code = "scheduling_error"


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


class ContactConflict(SchedulingError):
    """A booking clashes with an existing contact (antenna or spacecraft radios).

    ``contact_id`` is the contact it clashes with; ``detail`` and ``fields`` name it.
    """

    code = "contact_conflict"
    status = 409

    def __init__(
        self, detail: str, *, contact_id: int, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, fields={"contact_id": str(contact_id), **(fields or {})})
        self.contact_id = contact_id


class MaintenanceConflict(SchedulingError):
    """A booking (with the antenna's setup and turnaround) overlaps station maintenance."""

    code = "maintenance_conflict"
    status = 409


class OutsidePass(SchedulingError):
    """A booking that does not lie inside a stored pass of that spacecraft and station."""

    code = "outside_pass"
    status = 409


class InvalidTransition(SchedulingError):
    """A contact state change the lifecycle does not allow."""

    code = "invalid_transition"
    status = 409


class ReplayConflict(SchedulingError):
    """A submission repeats a ``client_ref`` with different content."""

    code = "replay_conflict"
    status = 409


class ContentUnavailable(SchedulingError):
    """A downlink's content cannot be served (not completed, or its file fails its check)."""

    code = "content_unavailable"
    status = 409
