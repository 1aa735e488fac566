from django.db import migrations


def seed(apps, schema_editor):
    from referrals import catalogue

    catalogue.seed(apps.get_model("referrals", "Service"))


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
