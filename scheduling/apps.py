from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ops.fleet.apiutils import register_domain_error
        from scheduling.exceptions import SchedulingError

        register_domain_error(SchedulingError)
