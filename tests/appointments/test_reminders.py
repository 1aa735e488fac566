"""Appointment reminders go out through the outbox 48 h and 2 h before, without clinical
detail, and are dropped once the appointment is cancelled or marked."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from appointments import services
from reminders.dispatch import dispatch_due
from reminders.models import Reminder

pytestmark = pytest.mark.django_db


def _rows(appt):
    return Reminder.objects.filter(target_type="appointment", target_id=appt.pk) \
        .order_by("scheduled_for")


def test_the_patient_gets_both_reminders_without_clinical_detail(book):
    appt = book()
    with time_machine.travel(appt.starts_at - timedelta(hours=47), tick=False):
        dispatch_due()
    assert [r.status for r in _rows(appt)] == ["sent", "pending"]
    with time_machine.travel(appt.starts_at - timedelta(hours=1), tick=False):
        dispatch_due()
    assert [r.status for r in _rows(appt)] == ["sent", "sent"]
    assert len(mail.outbox) == 2
    body = mail.outbox[0].body
    assert mail.outbox[0].to == [appt.patient.email]
    assert "appointment on" in body and "45 minutes, in person" in body
    for secret in ("Physio", "Low back", "Doe", "Dee", "Patel"):
        assert secret not in body


def test_a_cancelled_appointment_sends_nothing(book):
    appt = book()
    services.appointment_status_set(appointment=appt, status="cancelled_by_patient",
                                    reason="Holiday", actor=None)
    with time_machine.travel(appt.starts_at - timedelta(hours=1), tick=False):
        dispatch_due()
    assert mail.outbox == []
    assert {r.status for r in _rows(appt)} == {"cancelled"}


def test_a_reminder_already_claimed_is_dropped_when_the_appointment_is_gone(book):
    appt = book()
    # Cancelled behind the outbox's back (e.g. by an import): the send-time check drops it.
    Reminder.objects.filter(target_id=appt.pk).update(status="pending")
    appt.status, appt.status_reason = "cancelled_by_clinic", "Closed"
    appt.save(update_fields=["status", "status_reason"])
    with time_machine.travel(appt.starts_at - timedelta(hours=1), tick=False):
        dispatch_due()
    assert mail.outbox == []
    assert {r.reason for r in _rows(appt)} == {"no_longer_needed"}


def test_the_stop_link_cancels_appointment_reminders(book):
    from reminders.services import patient_reminders_stop

    appt = book()
    patient_reminders_stop(patient_id=appt.patient_id)
    assert {(r.status, r.reason) for r in _rows(appt)} == {("cancelled", "no_consent")}


def test_the_outbox_api_filters_appointment_reminders(book, coordinator_api):
    book()
    r = coordinator_api.get("/api/reminders/", {"kind": "appointment"})
    assert r.status_code == 200 and r.json()["count"] == 2
