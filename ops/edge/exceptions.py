"""The base of every app's named errors (each app's ``exceptions.py`` derives from it)."""

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
