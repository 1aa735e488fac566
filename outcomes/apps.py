from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OutcomesConfig(AppConfig):
    name = "outcomes"

    def ready(self):
        # Imported here, not at the top: models and selectors can only be imported once the
        # app registry is ready (start-up order), which is when ready() runs.
        from patients.selectors import register_row_annotation
        from reminders.kinds import register

        from .reminder_kinds import AlertEscalationKind, QuestionnaireDueKind, SafetyAlertKind
        from .selectors import open_alert_exists
        from .services import default_schedule_ensure

        for kind in (QuestionnaireDueKind, SafetyAlertKind, AlertEscalationKind):
            register(kind)
        register_row_annotation("has_open_alert", open_alert_exists)
        post_migrate.connect(default_schedule_ensure, sender=self,
                             dispatch_uid="outcomes-default-schedule")
