from django.apps import AppConfig


class TeamConfig(AppConfig):
    """The care team in the app (SPEC §6): program settings, sites, staff, caseloads and
    readiness. A top-layer app: it imports patients, outcomes and reminders, never the
    other way round (it registers its reminder kind and its system check from here)."""

    name = "team"
    verbose_name = "Care team"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, reminders  # noqa: F401  (registers the check and the kind)
