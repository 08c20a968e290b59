from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FleetConfig(AppConfig):
    name = "ops.fleet"
    label = "fleet"
    verbose_name = "Fleet registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Permissions exist only after post_migrate; the role groups are synced then.
        from ops.fleet import schema  # noqa: F401 - registers the OpenAPI auth extension
        from ops.fleet.roles import roles_sync

        post_migrate.connect(roles_sync, dispatch_uid="zenith.fleet.roles_sync")
