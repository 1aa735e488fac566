"""Part II foundation: program settings, sites (a first site `main` for every program, with
every existing staff member in it), and the caseload/step fields on Patient."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import patients.models

ROLE_GROUPS = ("clinician", "coordinator", "admin")


def create_main_sites(apps, schema_editor):
    Program = apps.get_model("patients", "Program")
    Site = apps.get_model("patients", "Site")
    Patient = apps.get_model("patients", "Patient")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    staff = list(User.objects.filter(groups__name__in=ROLE_GROUPS).distinct())
    for program in Program.objects.all():
        site, _ = Site.objects.get_or_create(program=program, code="main",
                                             defaults={"name": "Main site",
                                                       "time_zone": program.time_zone})
        site.staff.add(*staff)
        Patient.objects.filter(program=program, site__isnull=True).update(site=site)


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0003_intake_date_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="program", name="deputy_lead",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL)),
        migrations.AddField(model_name="program", name="working_hours",
                            field=models.JSONField(default=patients.models.default_working_hours)),
        migrations.AddField(
            model_name="program", name="holiday_country",
            field=models.CharField(blank=True, default="GB", max_length=2,
                                   help_text="ISO 3166 country code of the public-holiday calendar.")),
        migrations.AddField(
            model_name="program", name="holiday_region",
            field=models.CharField(blank=True, max_length=10,
                                   help_text="Subdivision code, e.g. ENG, SCT, CA, NY.")),
        migrations.AddField(
            model_name="program", name="escalation_mode",
            field=models.CharField(choices=[("working_hours", "During working hours"),
                                            ("24_7", "Every hour, day and night (24/7)")],
                                   default="working_hours", max_length=16)),
        migrations.AddField(
            model_name="program", name="escalation_hours",
            field=models.PositiveSmallIntegerField(
                default=4, help_text="Hours (working hours, or clock hours in 24/7 mode) before an "
                                     "unacknowledged safety alert escalates.")),
        migrations.AddField(model_name="program", name="crisis_message",
                            field=models.TextField(blank=True)),
        migrations.CreateModel(
            name="Site",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("code", models.SlugField()),
                ("time_zone", models.CharField(default="Europe/London", max_length=64,
                                               validators=[patients.models.validate_timezone])),
                ("program", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                              related_name="sites", to="patients.program")),
                ("staff", models.ManyToManyField(blank=True, related_name="sites",
                                                 to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [models.UniqueConstraint(fields=("program", "code"),
                                                        name="site_code_unique_per_program")],
            },
        ),
        migrations.AddField(
            model_name="patient", name="site",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="patients", to="patients.site")),
        migrations.AddField(
            model_name="patient", name="care_manager",
            field=models.ForeignKey(blank=True, help_text="A coordinator or clinician who manages care.",
                                    null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="managed_patients", to=settings.AUTH_USER_MODEL)),
        migrations.AddField(model_name="patient", name="step",
                            field=models.PositiveSmallIntegerField(default=1)),
        migrations.AlterField(
            model_name="patient", name="clinician",
            field=models.ForeignKey(blank=True, help_text="The responsible clinician: receives alerts.",
                                    null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="patients", to=settings.AUTH_USER_MODEL)),
        migrations.RunPython(create_main_sites, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="patient", name="site",
            field=models.ForeignKey(default=patients.models.Site.default_pk,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="patients", to="patients.site")),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.CheckConstraint(condition=models.Q(step__gte=1, step__lte=3),
                                              name="patient_step_1_to_3")),
    ]
