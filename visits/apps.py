from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "visits"

    def ready(self):
        # Imported here, not at the top: models can only be imported once the app registry
        # is ready (start-up order), which is when ready() runs.
        from reminders.kinds import register

        from .reminder_kinds import GroupSessionKind

        register(GroupSessionKind)
