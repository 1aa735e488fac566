from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IpmConfig(AppConfig):
    name = "ipm"
    verbose_name = "IPM core"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import roles
        from .middleware import remember_otp_enrolment

        user_logged_in.connect(remember_otp_enrolment, dispatch_uid="ipm-otp-enrolment")
        post_migrate.connect(roles.ensure_role_groups, dispatch_uid="ipm-role-groups")
