from django.apps import AppConfig


class FhirConfig(AppConfig):
    """The FHIR API as an app, for its export jobs (models) and worker tasks. The label is
    the one the top-level ``fhir_api`` app keeps after the move out of ``ipm/`` (issue 17),
    so its migrations carry over unchanged."""

    name = "ipm.fhir"
    label = "fhir_api"
    verbose_name = "FHIR API"
    default_auto_field = "django.db.models.BigAutoField"
