import importlib

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def ensure_billing_codes(sender=None, **kwargs):
    """Put the default billing-code table back when it is empty (after a test flush or a
    `flush`), from the same function the data migration runs; rows a program edited stay."""
    importlib.import_module("care.migrations.0002_seed_billing_codes").seed(apps, None)


class CareConfig(AppConfig):
    """Stepped care and care management (SPEC §9): step decisions, care-manager contacts,
    care plans (goals rated by the PSFS), minutes per month and the billing export.

    Layer: the top of the feature apps. It may import patients, referrals, outcomes, visits
    and reminders; none of them imports care (hooks are registered from `ready()`)."""

    name = "care"
    verbose_name = "Stepped care and care management"

    def ready(self):
        from outcomes import item_labels

        from .services import PSFS, psfs_item_labels

        # The PSFS link page asks about the patient's own activities (their care-plan goals).
        item_labels.register(PSFS, psfs_item_labels)
        post_migrate.connect(ensure_billing_codes, sender=self, dispatch_uid="care-billing-codes")
