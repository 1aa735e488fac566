from django.apps import AppConfig


class TeamConfig(AppConfig):
    """The care team in the app (docs/product.md §6): program settings, sites, staff,
    caseloads and readiness. It imports ipm, patients and reminders, never the other way
    round; it registers its reminder kind and its system check from here."""

    name = "team"
    verbose_name = "Care team"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, not at the top: models can only be imported once the app registry
        # is ready (start-up order), which is when ready() runs.
        from reminders.kinds import register, register_staff_phone

        from . import checks  # noqa: F401  (registers the check --deploy check)
        from .reminder_kinds import StaffInviteKind
        from .selectors import staff_phone

        register(StaffInviteKind)
        register_staff_phone(staff_phone)
