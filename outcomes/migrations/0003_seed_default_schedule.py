"""Seed the default follow-up schedule (docs/product.md §3.4) as editable rows with no program."""

from django.db import migrations

# Copied from outcomes.schedule.DEFAULT_SCHEDULE at the time of writing (migrations must not
# import code that may change later).
DEFAULT = [
    *[(code, week) for code in ("peg", "phq9", "gad7") for week in (0, 6, 12, 26, 52)],
    *[("promis29", week) for week in (0, 12, 26, 52)],
    ("nps", 12), ("nps", 52), ("nps", None),
]


def seed(apps, schema_editor):
    ScheduleRule = apps.get_model("outcomes", "ScheduleRule")
    if ScheduleRule.objects.filter(program__isnull=True).exists():
        return
    ScheduleRule.objects.bulk_create([
        ScheduleRule(program=None, instrument=code, weeks_after_intake=week,
                     at_discharge=week is None)
        for code, week in DEFAULT
    ])


def unseed(apps, schema_editor):
    apps.get_model("outcomes", "ScheduleRule").objects.filter(program__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0002_schedule_links_medications")]
    operations = [migrations.RunPython(seed, unseed)]
