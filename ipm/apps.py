from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IpmConfig(AppConfig):
    name = "ipm"
    verbose_name = "IPM core"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import redact, roles
        from .middleware import remember_otp_enrolment

        # Logging is configured before apps load: mask tokens and search terms in every
        # handler (Django's defaults included) and in every record created from now on.
        redact.install_record_factory()
        redact.install_on_handlers()
        user_logged_in.connect(remember_otp_enrolment, dispatch_uid="ipm-otp-enrolment")
        post_migrate.connect(roles.ensure_role_groups, dispatch_uid="ipm-role-groups")
