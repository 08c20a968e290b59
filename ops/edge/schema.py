"""OpenAPI description of Zenith's bearer tokens (imported in ``FleetConfig.ready``: the
fleet owns tokens)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ops.fleet.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A Zenith API token (`znt_…`); its scopes decide what it may do.",
        }
