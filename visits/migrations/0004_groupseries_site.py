"""Group series belong to a site (docs/product.md §6): existing series go to their program's first
site (there is one program; its first site is `main`)."""

import django.db.models.deletion
from django.db import migrations, models

import visits.models


def to_first_site(apps, schema_editor):
    GroupSeries = apps.get_model("visits", "GroupSeries")
    Site = apps.get_model("patients", "Site")
    first = Site.objects.order_by("pk").first()
    if first is not None:
        GroupSeries.objects.filter(site__isnull=True).update(site=first)


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0004_sites_program_settings_caseload"),
        ("visits", "0003_plausible_dates"),
    ]

    operations = [
        migrations.AddField(
            model_name="groupseries", name="site",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="group_series", to="patients.site")),
        migrations.RunPython(to_first_site, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="groupseries", name="site",
            field=models.ForeignKey(default=visits.models._default_site,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="group_series", to="patients.site")),
    ]
