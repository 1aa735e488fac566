"""The safety net (docs/product.md §7): every alert names its assigned person (NOT NULL,
filled here for existing alerts by the same rule as outcomes.services.alert_assignee), the
action of its acknowledgement, its C-SSRS risk and its escalation steps."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


CLINICIAN = "clinician"


def _active_clinician(user) -> bool:
    return (user is not None and user.is_active
            and user.groups.filter(name=CLINICIAN).exists())


def _assignee(apps, alert):
    User = apps.get_model("auth", "User")
    patient, program = alert.patient, alert.patient.program
    for person in (patient.clinician, patient.care_manager):
        if _active_clinician(person):
            return person
    for person in (program.clinical_lead, program.deputy_lead):
        if person is not None and person.is_active:
            return person
    clinicians = User.objects.filter(is_active=True, groups__name=CLINICIAN).order_by("pk")
    return (clinicians.filter(sites=patient.site_id).first()
            or clinicians.filter(sites__program=program).first()
            or clinicians.first()
            or User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
            or User.objects.order_by("pk").first())


def fill(apps, schema_editor):
    SafetyAlert = apps.get_model("outcomes", "SafetyAlert")
    AlertEscalation = apps.get_model("outcomes", "AlertEscalation")
    alerts = SafetyAlert.objects.select_related(
        "patient__program__clinical_lead", "patient__program__deputy_lead",
        "patient__clinician", "patient__care_manager")
    for alert in alerts.filter(assigned_to__isnull=True).iterator():
        person = _assignee(apps, alert)
        if person is None:
            raise RuntimeError("Safety alerts exist but there is no user to assign them to: "
                               "create a clinician (manage.py createstaff) and migrate again.")
        alert.assigned_to = person
        alert.save(update_fields=["assigned_to"])
    # Acknowledgements before actions existed: `other`, with their note.
    SafetyAlert.objects.filter(status="acknowledged", action="").update(action="other")
    for alert in alerts.filter(escalated_to__isnull=False, escalation_level=0):
        AlertEscalation.objects.create(alert=alert, level=1, to_id=alert.escalated_to_id,
                                       at=alert.escalated_at)
        alert.escalation_level = 1
        alert.save(update_fields=["escalation_level"])


class Migration(migrations.Migration):

    dependencies = [
        ('outcomes', '0003_seed_default_schedule'),
        ('patients', '0005_plausible_dates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AlertAction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(choices=[('called_patient', 'Called the patient'), ('safety_plan', 'Safety plan agreed'), ('emergency_services', 'Emergency services contacted'), ('no_answer', 'No answer (try again)'), ('other', 'Other')], max_length=20)),
                ('note', models.TextField()),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['alert_id', 'at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='AlertEscalation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField(choices=[(1, 'Clinical lead'), (2, 'Deputy lead')])),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['alert_id', 'level'],
            },
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='action',
            field=models.CharField(blank=True, choices=[('called_patient', 'Called the patient'), ('safety_plan', 'Safety plan agreed'), ('emergency_services', 'Emergency services contacted'), ('no_answer', 'No answer (try again)'), ('other', 'Other')], max_length=20),
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='assigned_to',
            field=models.ForeignKey(help_text='Who must act: never empty.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='assigned_alerts', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='cssrs_risk',
            field=models.CharField(blank=True, choices=[('none', 'No risk identified'), ('low', 'Low'), ('moderate', 'Moderate'), ('high', 'High')], max_length=10),
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='escalation_level',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='safetyalert',
            name='retry_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='alertescalation',
            name='alert',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='escalations', to='outcomes.safetyalert'),
        ),
        migrations.AddField(
            model_name='alertescalation',
            name='to',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='safetyalert',
            name='assigned_to',
            field=models.ForeignKey(help_text='Who must act: never empty.', on_delete=django.db.models.deletion.PROTECT, related_name='assigned_alerts', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='safetyalert',
            index=models.Index(fields=['assigned_to', 'status'], name='alert_assignee_status'),
        ),
        migrations.AddConstraint(
            model_name='safetyalert',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('acknowledged_at__isnull', True), ('status', 'open')), models.Q(('acknowledged_at__isnull', False), ('status', 'acknowledged'), models.Q(('action', ''), _negated=True), models.Q(('action', 'no_answer'), _negated=True)), _connector='OR'), name='alert_ack_has_time_and_action'),
        ),
        migrations.AddConstraint(
            model_name='safetyalert',
            constraint=models.CheckConstraint(condition=models.Q(('escalation_level__lte', 2)), name='alert_escalation_level_0_to_2'),
        ),
        migrations.AddField(
            model_name='alertaction',
            name='alert',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='outcomes.safetyalert'),
        ),
        migrations.AddField(
            model_name='alertaction',
            name='by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='alertescalation',
            constraint=models.UniqueConstraint(fields=('alert', 'level'), name='alert_escalation_once_per_level'),
        ),
    ]
