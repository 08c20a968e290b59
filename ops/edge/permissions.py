"""One permission class for every API view: the view states the scopes it needs."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ops.edge.access import request_scopes

DEFAULT_READ = frozenset({"schedule", "operate", "admin"})
DEFAULT_WRITE = frozenset({"admin"})


class ScopePermission(BasePermission):
    """Allows a request when the caller holds any scope the view lists for its method.

    Views set ``read_scopes`` and ``write_scopes``, or ``action_scopes`` per viewset
    action; anything unlisted needs ``admin``.
    """

    message = "your token or role does not grant the scope this endpoint needs"

    def needed(self, request: Request, view: Any) -> frozenset[str]:
        action = getattr(view, "action", None)
        per_action: dict[str, frozenset[str]] = getattr(view, "action_scopes", {}) or {}
        if action and action in per_action:
            return per_action[action]
        if request.method in SAFE_METHODS:
            return frozenset(getattr(view, "read_scopes", DEFAULT_READ))
        return frozenset(getattr(view, "write_scopes", DEFAULT_WRITE))

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = self.needed(request, view)
        granted = request_scopes(request)
        if needed & granted:
            return True
        self.message = (
            f"needs one of the scopes {', '.join(sorted(needed))}; "
            f"you have {', '.join(sorted(granted)) or 'none'}"
        )
        return False
