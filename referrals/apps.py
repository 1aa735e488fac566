from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self):
        # Imported here, not at the top: models can only be imported once the app registry
        # is ready (start-up order), which is when ready() runs.
        from reminders.kinds import register

        from .catalogue import ensure_catalogue
        from .reminder_kinds import SlaDigestKind

        register(SlaDigestKind)
        post_migrate.connect(ensure_catalogue, sender=self,
                             dispatch_uid="referrals-service-catalogue")
