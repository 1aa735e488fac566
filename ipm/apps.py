from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IpmConfig(AppConfig):
    name = "ipm"
    verbose_name = "IPM core"

    def ready(self):
        from . import roles

        post_migrate.connect(roles.ensure_role_groups, dispatch_uid="ipm-role-groups")
