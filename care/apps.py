from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CareConfig(AppConfig):
    """Stepped care and care management (SPEC §9): step decisions, care-manager contacts,
    care plans (goals rated by the PSFS), minutes per month and the billing export.

    Layer: the top of the feature apps. It may import patients, referrals, outcomes, visits
    and reminders; none of them imports care (hooks are registered from `ready()`)."""

    name = "care"
    verbose_name = "Stepped care and care management"

    def ready(self):
        from outcomes import item_labels

        from .seed import default_billing_codes_ensure
        from .services import PSFS, psfs_item_labels

        # The PSFS link page asks about the patient's own activities (their care-plan goals).
        item_labels.register(PSFS, psfs_item_labels)
        # The default billing codes come back after a database flush (as referrals'
        # catalogue does), so the billing export still knows its codes.
        post_migrate.connect(default_billing_codes_ensure, sender=self,
                             dispatch_uid="care-default-billing-codes")
