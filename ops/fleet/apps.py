from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FleetConfig(AppConfig):
    name = "ops.fleet"
    label = "fleet"
    verbose_name = "Fleet registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ops.edge import schema  # noqa: F401 - registers the OpenAPI auth extension
        from ops.fleet import selectors
        from ops.fleet.roles import roles_sync
        from zenith import registry

        # Permissions exist only after post_migrate; the role groups are synced then.
        post_migrate.connect(roles_sync, dispatch_uid="zenith.fleet.roles_sync")

        def spacecraft() -> dict[str, Any]:
            return {"spacecraft": list(selectors.spacecraft_list())}

        def stations() -> dict[str, Any]:
            return {"stations": list(selectors.station_list())}

        registry.console_section(
            registry.ConsoleSection(
                key="fleet.spacecraft",
                title="Spacecraft",
                template="fleet/sections/spacecraft.html",
                context=spacecraft,
                order=10,
            )
        )
        registry.console_section(
            registry.ConsoleSection(
                key="fleet.stations",
                title="Ground stations",
                template="fleet/sections/stations.html",
                context=stations,
                order=20,
            )
        )
