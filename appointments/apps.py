from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    """Individual appointments (SPEC §8). Sits above referrals, visits and reminders: it
    registers its reminder kind, its worklist section and its patient-timeline entries with
    those apps from `ready()`, so none of them imports this one."""

    name = "appointments"

    def ready(self):
        from . import hooks

        hooks.register()
