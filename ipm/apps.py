from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IpmConfig(AppConfig):
    name = "ipm"
    verbose_name = "IPM core"

    def ready(self):
        from . import roles
        from .reference_data import ensure_reference_data

        post_migrate.connect(roles.ensure_role_groups, dispatch_uid="ipm-role-groups")
        post_migrate.connect(ensure_reference_data, sender=self,
                             dispatch_uid="ipm-reference-data")
