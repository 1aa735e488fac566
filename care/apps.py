from django.apps import AppConfig


class CareConfig(AppConfig):
    """Stepped care and care management (SPEC §9): step decisions, care-manager contacts,
    care plans (goals rated by the PSFS), minutes per month and the billing export.

    Layer: the top of the feature apps. It may import patients, referrals, outcomes, visits
    and reminders; none of them imports care (hooks are registered from `ready()`)."""

    name = "care"
    verbose_name = "Stepped care and care management"
