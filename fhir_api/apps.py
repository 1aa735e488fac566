from django.apps import AppConfig


class FhirApiConfig(AppConfig):
    """The FHIR API: its export jobs (models) and worker tasks live here too."""

    name = "fhir_api"
    verbose_name = "FHIR API"
    default_auto_field = "django.db.models.BigAutoField"
