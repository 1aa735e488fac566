from django.db import migrations


def seed(apps, schema_editor):
    from referrals.catalogue import SERVICES

    Service = apps.get_model("referrals", "Service")
    for code, name, discipline, triage, first_visit, group in SERVICES:
        Service.objects.update_or_create(
            code=code,
            defaults=dict(name=name, discipline=discipline, sla_triage_days=triage,
                          sla_first_visit_days=first_visit, is_group_based=group),
        )


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
