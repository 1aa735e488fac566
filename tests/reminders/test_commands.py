"""`manage.py dispatch_reminders` runs one pass and prints its counts; the demo fills the
outbox with a few rows of each status."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reminders.models import Reminder
from reminders.services import reminder_schedule

pytestmark = pytest.mark.django_db


def test_it_runs_one_dispatch_pass_and_prints_counts(patient, group_session):
    reminder_schedule(kind="group_session", target_type="group_session",
                      target_id=group_session.pk, patient=patient, offset="48h",
                      scheduled_for=timezone.now() - timedelta(minutes=1))
    reminder_schedule(kind="group_session", target_type="group_session", target_id=424242,
                      patient=patient, offset="48h", scheduled_for=timezone.now())
    out = StringIO()
    call_command("dispatch_reminders", stdout=out)
    assert "claimed=2 sent=1" in out.getvalue() and "cancelled=1" in out.getvalue()


def test_it_populates_demo_rows_of_each_status(make_patient, clinician, coordinator):
    from reminders.demo import populate

    ctx = {"users": {"clinician": clinician, "coordinator": coordinator},
           "patients": [make_patient() for _ in range(3)]}
    populate(ctx)
    statuses = set(Reminder.objects.values_list("status", flat=True))
    assert {"pending", "sent", "failed", "cancelled"} <= statuses
    assert Reminder.objects.filter(status="failed", reason="provider_error").exclude(
        last_error="").exists()
    populate(ctx)  # idempotent by key
    assert Reminder.objects.filter(status="pending").count() == 3
