from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    """Individual appointments (docs/product.md §8).

    Layer: above outcomes | visits, below care. It imports patients, reminders, referrals and
    outcomes; care (the worklist, billing minutes), metrics, clinic (the patient timeline) and
    fhir_api import it. Its reminder kind is registered with the reminders registry here."""

    name = "appointments"

    def ready(self):
        # Imported here, not at the top: models can only be imported once the app registry
        # is ready (start-up order), which is when ready() runs.
        from reminders.kinds import register

        from .reminder_kinds import AppointmentKind

        register(AppointmentKind)
