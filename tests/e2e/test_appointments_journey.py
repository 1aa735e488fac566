"""A coordinator books a patient from the triage queue into a free slot on the week calendar;
the patient gets the 48 h and 2 h reminders (outbox rows, dispatched); on the day the
clinician marks the visit attended and signs a note; the referral shows in_treatment; and
the admin's dashboard takes days-to-first-visit from the appointment.

The server runs in this process, so `time_machine` moves its clock forward between the
steps (always forward: the browser's cookies stay valid), and each step logs in afresh."""

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from appointments import services as appointment_services
from ipm import roles
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cast():
    from patients.models import Patient, Program
    from referrals.models import Service
    from referrals.services import referral_create, referral_transition
    from tests.visits.conftest import ensure_services

    ensure_services()  # an earlier transactional test may have flushed the catalogue
    program = Program.default()
    program.holiday_country = ""  # the journey's day must not fall on a public holiday
    program.save(update_fields=["holiday_country"])
    site = program.sites.order_by("pk").first()
    coordinator = make_user("cora", roles.COORDINATOR)
    doctor = make_user("phil", roles.CLINICIAN)
    admin = make_user("ada", roles.ADMIN)
    appointment_services.weekly_availability_set(
        clinician=doctor, site=site, actor=coordinator,
        windows=[(d, "07:00", "21:00", None) for d in range(7)])
    patient = Patient.objects.create(program=program, mrn="E2E-APPT", given_name="Maya",
                                     family_name="Patel", birth_date=dt.date(1975, 3, 2),
                                     email="maya@example.org", preferred_channel="email",
                                     consent_to_contact=True)
    referral = referral_create(patient=patient, service=Service.objects.get(code="physio"),
                               reason="Low back pain, 2 years", actor=coordinator,
                               referred_at=timezone.now() - timedelta(days=10))
    referral_transition(referral=referral, to="triaged", actor=coordinator)
    return coordinator, doctor, admin, patient, referral


def test_a_patient_goes_from_the_queue_to_a_signed_first_visit(page, login_as, screenshot, cast,
                                                               live_server):
    from appointments.models import Appointment
    from referrals.models import Referral
    from reminders.dispatch import dispatch_due
    from reminders.models import Reminder

    coordinator, doctor, admin, patient, referral = cast

    # 1. The coordinator books from the triage queue, into a free slot a week ahead.
    login_as(coordinator)
    page.goto("/referrals/")
    page.get_by_role("link", name=f"Book an appointment for referral {referral.pk}").click()
    expect(page.locator("#booking-for")).to_contain_text("Maya Patel")
    page.get_by_role("link", name="Next ›").click()
    target = timezone.localdate() + timedelta(days=7)
    day = page.locator(f'section[data-day="{target.isoformat()}"]')
    slot = day.locator(".free-slot").nth(2)
    expect(slot).to_be_visible()
    screenshot("appointments_week")
    slot.click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.get_by_text("Physiotherapy referral")).to_be_visible()
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator("#appt-status")).to_have_text("Booked")

    appt = Appointment.objects.get()
    assert (appt.patient_id, appt.clinician_id, appt.referral_id) == (
        patient.pk, doctor.pk, referral.pk)
    assert timezone.localtime(appt.starts_at).date() == target
    assert Referral.objects.get(pk=referral.pk).status == "scheduled"

    # 2. The reminders: two outbox rows, each sent when due.
    rows = Reminder.objects.filter(target_type="appointment", target_id=appt.pk)
    assert sorted(appt.starts_at - r.scheduled_for for r in rows) == [
        timedelta(hours=2), timedelta(hours=48)]
    with time_machine.travel(appt.starts_at - timedelta(hours=47), tick=False):
        dispatch_due()
    with time_machine.travel(appt.starts_at - timedelta(hours=1), tick=False):
        dispatch_due()
    assert sorted(rows.values_list("status", flat=True)) == ["sent", "sent"]
    assert [m.to for m in mail.outbox] == [["maya@example.org"]] * 2

    # 3. On the day: the clinician marks the visit attended and signs the note.
    with time_machine.travel(appt.starts_at + timedelta(minutes=40), tick=True):
        page.context.clear_cookies()
        login_as(doctor)
        page.goto(f"/appointments/{appt.pk}/")
        page.get_by_role("button", name="Attended").click()
        expect(page.locator("#appt-status")).to_have_text("Attended")
        page.get_by_label("Subjective").fill("Pain 5/10, sleeping better.")
        page.get_by_label("Assessment").fill("Improving with graded activity.")
        page.get_by_label("Plan").fill("Continue walking programme.")
        page.get_by_label("Minutes spent").fill("40")
        page.get_by_role("button", name="Save and sign").click()
        expect(page.locator("#signed-note")).to_contain_text("Improving with graded activity.")
        screenshot("appointment_signed_note")
        page.goto(f"/referrals/{referral.pk}/")
        expect(page.get_by_text("In treatment").first).to_be_visible()
    referral.refresh_from_db()
    assert referral.status == "in_treatment" and referral.first_visit_at == appt.starts_at

    # 4. The next day, the dashboard's days-to-first-visit comes from the appointment.
    with time_machine.travel(appt.starts_at + timedelta(days=1, hours=1), tick=True):
        page.context.clear_cookies()
        login_as(admin)
        page.goto("/metrics/")
        page.get_by_role("button", name="Compute now").click()
        expect(page.locator("#snapshot-info")).to_contain_text("Snapshot computed",
                                                               timeout=30_000)
        days = (appt.starts_at - referral.referred_at).total_seconds() / 86400
        card = page.locator('.metric-card[data-metric="median_days_referral_to_first_visit"]')
        expect(card.locator("[data-value]")).to_have_text(f"{days:.1f} d")
