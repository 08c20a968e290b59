from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from scheduling import live
        from zenith import registry

        # Task names, not the task objects: a web process need not import the tasks.
        registry.periodic(
            "scheduling.refresh_passes", task="scheduling.refresh_passes", every_s=300.0
        )
        registry.periodic(
            "scheduling.dispatch_contacts",
            task="scheduling.dispatch_contacts",
            every_s=settings.ZENITH_DISPATCH_EVERY_S,
        )
        registry.periodic(
            "scheduling.replan_contacts",
            task="scheduling.replan_contacts",
            every_s=settings.ZENITH_REPLAN_EVERY_S,
        )
        live.register_topics()
