"""Reference data every program needs (the MDT service catalogue, the default follow-up
schedule). Data migrations seed it once; this post_migrate hook puts it back when a table
is empty again — after a test database flush, or a fresh `flush` — without touching rows
an administrator has edited."""


def ensure_reference_data(sender=None, **kwargs):
    from django.apps import apps

    Service = apps.get_model("referrals", "Service")
    if not Service.objects.exists():
        from referrals.catalogue import seed

        seed(Service)
    ScheduleRule = apps.get_model("outcomes", "ScheduleRule")
    if not ScheduleRule.objects.filter(program__isnull=True).exists():
        import importlib

        # The same rows the data migration writes, from the same function.
        importlib.import_module("outcomes.migrations.0003_seed_default_schedule").seed(apps, None)
