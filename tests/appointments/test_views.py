"""The appointment pages: calendars with free slots, booking from a slot or the triage queue,
attendance and the visit note, weekly hours and leave, the worklist section, the patient
timeline and the private iCalendar feed."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from appointments import services
from appointments.models import Appointment, AttendanceReview, WeeklyAvailability
from ipm import roles
from ipm.models import AuditEvent
from tests.conftest import make_user

from .conftest import next_day

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_week_calendar_offers_free_slots_that_prefill_the_booking_form(coordinator, doctor,
                                                                           triaged_referral):
    tuesday = next_day(1, 9)
    page = client_for(coordinator).get(
        "/appointments/week/", {"referral": triaged_referral.pk,
                                "date": tuesday.date().isoformat()})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Booking for" in html and "Maya Patel" in html
    links = re.findall(r'href="(/appointments/new/\?[^"]+)"', html)
    assert len(links) == 5 * 10  # Mon-Fri, 09:00-17:00 in 45-minute slots (10 a day)
    first = next(link for link in links
                 if f"starts_at={tuesday:%Y-%m-%d}T09%3A00" in link).replace("&amp;", "&")
    form = client_for(coordinator).get(first).content.decode()
    assert f'value="{tuesday:%Y-%m-%d}T09:00"' in form
    assert f'name="referral" value="{triaged_referral.pk}"' in form


def test_booking_from_the_form_moves_the_referral_to_scheduled(coordinator, doctor, physio,
                                                               triaged_referral, site):
    when = next_day(1, 9)
    r = client_for(coordinator).post("/appointments/new/", {
        "patient": triaged_referral.patient_id, "referral": triaged_referral.pk,
        "clinician": doctor.pk, "service": physio.pk, "site": site.pk,
        "starts_at": when.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": 45,
        "mode": "in_person"})
    appt = Appointment.objects.get()
    assert r.status_code == 302 and r.url == f"/appointments/{appt.pk}/"
    triaged_referral.refresh_from_db()
    assert triaged_referral.status == "scheduled"


def test_the_booking_form_shows_the_override_error(coordinator, doctor, physio, patient):
    r = client_for(coordinator).post("/appointments/new/", {
        "patient": patient.pk, "clinician": doctor.pk, "service": physio.pk,
        "starts_at": next_day(6, 9).strftime("%Y-%m-%dT%H:%M"), "duration_minutes": 45,
        "mode": "in_person"})
    assert r.status_code == 200
    assert "outside the clinician" in r.content.decode()
    assert not Appointment.objects.exists()


def test_the_triage_queue_offers_book_on_triaged_rows(coordinator, triaged_referral):
    html = client_for(coordinator).get("/referrals/").content.decode()
    assert f'href="/appointments/week/?referral={triaged_referral.pk}"' in html


def test_the_clinician_marks_attended_and_signs_the_note(book, doctor):
    appt = book()
    with time_machine.travel(appt.starts_at + timedelta(minutes=5), tick=False):
        client = client_for(doctor)
        assert "Attended" in client.get(f"/appointments/{appt.pk}/").content.decode()
        client.post(f"/appointments/{appt.pk}/status/", {"status": "attended"})
        client.post(f"/appointments/{appt.pk}/note/", {
            "subjective": "Sleeping better", "objective": "Flexion improved",
            "assessment": "Improving", "plan": "Continue", "minutes": "40", "action": "sign"})
        html = client.get(f"/appointments/{appt.pk}/").content.decode()
    assert "Signed" in html and "Flexion improved" in html
    assert Appointment.objects.get().note.signed_at is not None


def test_the_patient_page_shows_the_appointment_and_signed_note(book, doctor, patient):
    appt = book()
    with time_machine.travel(appt.starts_at, tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
    note = services.visit_note_save(appointment=appt, actor=doctor, assessment="Improving")
    services.visit_note_sign(note=note, actor=doctor)
    html = client_for(doctor).get(f"/patients/{patient.pk}/").content.decode()
    assert "Appointment" in html and "Physiotherapy with" in html
    assert "Visit note" in html and "Improving" in html


def test_two_missed_visits_show_on_the_care_worklist_until_reviewed(book, triaged_referral,
                                                                    coordinator):
    a = book(starts_at=next_day(1, 10), referral=triaged_referral)
    b = book(starts_at=next_day(2, 10), referral=triaged_referral)
    with time_machine.travel(b.starts_at + timedelta(hours=1), tick=False):
        for appt in (a, b):
            services.appointment_status_set(appointment=appt, status="did_not_attend",
                                            actor=coordinator)
    client = client_for(coordinator)
    html = client.get("/care/worklist/").content.decode()
    assert "Missed appointments" in html and "2 appointments not attended" in html
    review = AttendanceReview.objects.get()
    r = client.post(f"/appointments/reviews/{review.pk}/close/", {"note": "Rebooked by phone"})
    assert r["Location"] == "/care/worklist/"
    assert "2 appointments not attended" not in client.get("/care/worklist/").content.decode()
    review.refresh_from_db()
    assert review.reviewed_by == coordinator and review.note == "Rebooked by phone"


def test_the_missed_visits_review_shows_only_the_patients_of_ones_sites(
        book, triaged_referral, coordinator, patient):
    from patients.models import Site

    a = book(starts_at=next_day(1, 10), referral=triaged_referral)
    b = book(starts_at=next_day(2, 10), referral=triaged_referral)
    with time_machine.travel(b.starts_at + timedelta(hours=1), tick=False):
        for appt in (a, b):
            services.appointment_status_set(appointment=appt, status="did_not_attend",
                                            actor=coordinator)
    elsewhere = make_user("faraway", roles.COORDINATOR)
    elsewhere.sites.set([Site.objects.create(program=patient.program, name="North",
                                             code="north")])
    html = client_for(elsewhere).get("/care/worklist/").content.decode()
    assert "2 appointments not attended" not in html and patient.full_name not in html


def test_coordinators_edit_weekly_hours_and_leave(coordinator, site):
    physio_doc = make_user("phoebe", roles.CLINICIAN)
    client = client_for(coordinator)
    url = f"/appointments/availability/?clinician={physio_doc.pk}&site={site.pk}"
    assert client.get(url).status_code == 200
    client.post("/appointments/availability/", {
        "clinician": physio_doc.pk, "site": site.pk, "action": "hours",
        "start_0": "09:00", "end_0": "13:00", "start_3": "14:00", "end_3": "18:00"})
    assert sorted(WeeklyAvailability.objects.filter(clinician=physio_doc)
                  .values_list("weekday", flat=True)) == [0, 3]
    r = client.post("/appointments/availability/", {
        "clinician": physio_doc.pk, "site": site.pk, "action": "hours",
        "start_0": "13:00", "end_0": "09:00"})
    assert "The end must be after the start" in r.content.decode()
    assert WeeklyAvailability.objects.filter(clinician=physio_doc).count() == 2


def test_clinicians_cannot_edit_hours(clinician):
    assert client_for(clinician).get("/appointments/availability/").status_code == 403


def test_the_feed_shows_times_and_initials_behind_a_private_token(book, doctor, patient):
    book()
    client = client_for(doctor)
    r = client.post("/appointments/feed/regenerate/", follow=True)
    url = re.search(r"(http://testserver/appointments/feed/[^ <]+\.ics)", r.content.decode())[1]
    feed = Client().get(url.replace("http://testserver", ""))
    body = feed.content.decode()
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    assert "SUMMARY:M.P. (in person)" in body
    assert "Patel" not in body and "Maya" not in body and "Physio" not in body
    row = AuditEvent.objects.get(action="calendar_feed.read")
    assert row.path == "/appointments/feed/***"  # the token never lands in the audit trail
    client.post("/appointments/feed/regenerate/")
    assert Client().get(url.replace("http://testserver", "")).status_code == 404
