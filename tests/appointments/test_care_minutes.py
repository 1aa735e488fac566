"""Signed visit-note minutes count as care-management time (docs/product.md §9): in the
calendar month of their appointment, next to care-manager contacts, in the patient's care
panel and the billing export; a draft note counts nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from appointments import services
from care import minutes
from care.selectors import billing_export
from care.services import contact_create
from patients.models import Patient

from .conftest import next_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def attended(book, doctor):
    def _attended(starts_at, note_minutes, *, sign=True):
        appt = book(starts_at=starts_at)
        with time_machine.travel(appt.starts_at, tick=False):
            services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
            note = services.visit_note_save(appointment=appt, actor=doctor,
                                            assessment="Improving", minutes=note_minutes)
            if sign:
                services.visit_note_sign(note=note, actor=doctor)
        return appt

    return _attended


def _month(appt):
    return timezone.localtime(appt.starts_at).date().replace(day=1)


def test_a_signed_note_adds_its_minutes_to_its_appointments_month(attended, patient,
                                                                 coordinator):
    appt = attended(next_day(1, 10), 25)
    month = _month(appt)
    with time_machine.travel(appt.starts_at + timedelta(hours=2), tick=False):
        contact_create(patient=patient, kind="phone", minutes=10, outcome="reached",
                       actor=coordinator)
    assert minutes.month_minutes([patient.pk], month) == {patient.pk: 35}
    assert minutes.month_minutes(None, minutes.next_month(month)) == {}


def test_a_draft_note_counts_nothing(attended, patient):
    appt = attended(next_day(1, 10), 40, sign=False)
    assert minutes.month_minutes([patient.pk], _month(appt)) == {}
    assert minutes.first_care_months([patient.pk]) == {}


def test_the_first_care_month_is_the_earlier_of_the_first_signed_note_and_contact(
        attended, patient, coordinator):
    appt = attended(next_day(1, 10, weeks_ahead=1), 20)
    with time_machine.travel(appt.starts_at + timedelta(days=40), tick=False):
        contact_create(patient=patient, kind="phone", minutes=15, outcome="reached",
                       actor=coordinator)
    assert minutes.first_care_months([patient.pk]) == {patient.pk: _month(appt)}


def test_the_billing_export_and_care_panel_show_the_note_minutes(attended, patient,
                                                                 coordinator):
    appt = attended(next_day(1, 10), 30)
    month = _month(appt)
    export = billing_export(month=month, patients=Patient.objects.visible_to(coordinator))
    row = next(r for r in export["rows"] if r["patient"] == patient.pk)
    assert row["minutes"] == 30 and row["care_month"] == "first"
    with time_machine.travel(appt.starts_at + timedelta(hours=1), tick=False):
        client = Client()
        client.force_login(coordinator)
        html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="month-minutes">30 min<' in html
