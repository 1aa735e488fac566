"""Booking, attendance, cancellation, the referral's states, reminders, the did-not-attend
review and visit notes, through the services (docs/product.md §8)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from appointments import services
from appointments.models import Appointment, AttendanceReview
from ipm.errors import Conflict, InvalidInput
from ipm.models import AuditEvent
from referrals.models import Referral
from reminders.models import Reminder

from .conftest import next_day

pytestmark = pytest.mark.django_db


def _trail(referral):
    return list(referral.events.order_by("at", "pk").values_list("from_status", "to_status"))


def test_it_books_a_triaged_referral_and_schedules_it(book, triaged_referral):
    appt = book(referral=triaged_referral)
    triaged_referral.refresh_from_db()
    assert appt.status == "booked"
    assert appt.ends_at - appt.starts_at == timedelta(minutes=45)
    assert triaged_referral.status == "scheduled"
    assert _trail(triaged_referral)[-1] == ("triaged", "scheduled")
    assert AuditEvent.objects.filter(action="appointment.booked", object_id=str(appt.pk)).exists()


def test_a_second_booking_leaves_a_scheduled_referral_alone(book, triaged_referral):
    book(referral=triaged_referral)
    book(starts_at=next_day(2, 10), referral=triaged_referral)
    triaged_referral.refresh_from_db()
    assert triaged_referral.status == "scheduled"
    assert [e for e in _trail(triaged_referral) if e[1] == "scheduled"] == [("triaged", "scheduled")]


def test_it_schedules_48h_and_2h_reminders_and_cancels_them_with_the_appointment(book):
    appt = book()
    rows = Reminder.objects.filter(target_type="appointment", target_id=appt.pk)
    assert [(r.kind, r.patient_id, r.status) for r in rows] == [
        ("appointment", appt.patient_id, "pending")] * 2
    assert sorted(appt.starts_at - r.scheduled_for for r in rows) == [
        timedelta(hours=2), timedelta(hours=48)]
    services.appointment_status_set(appointment=appt, status="cancelled_by_patient",
                                    reason="Away that week", actor=None)
    assert set(rows.values_list("status", flat=True)) == {"cancelled"}


def test_it_skips_reminders_whose_time_has_passed(book, doctor):
    soon = next_day(1, 10)
    with time_machine.travel(soon - timedelta(hours=5), tick=False):
        appt = book(starts_at=soon)
    rows = Reminder.objects.filter(target_type="appointment", target_id=appt.pk)
    assert [soon - r.scheduled_for for r in rows] == [timedelta(hours=2)]


def test_it_refuses_a_start_in_the_past(book):
    with pytest.raises(InvalidInput) as exc:
        book(starts_at=next_day(1, 10) - timedelta(days=14))
    assert "starts_at" in exc.value.errors
    assert not Appointment.objects.exists()


def test_it_refuses_an_overlap_but_allows_back_to_back(book, make_patient):
    first = book(starts_at=next_day(1, 10), minutes=60)
    book(starts_at=first.ends_at, patient=make_patient("Tom", "Fletcher"))
    with pytest.raises(Conflict) as exc:
        book(starts_at=next_day(1, 10, 30), patient=make_patient("Aisha", "Khan"))
    assert "starts_at" in exc.value.errors
    assert Appointment.objects.count() == 2


def test_a_cancelled_appointment_frees_its_time(book, make_patient):
    first = book()
    services.appointment_status_set(appointment=first, status="cancelled_by_clinic",
                                    reason="Clinician unwell", actor=None)
    again = book(patient=make_patient("Tom", "Fletcher"))
    assert again.starts_at == first.starts_at


def test_it_needs_an_override_with_a_reason_outside_availability(book):
    saturday = next_day(5, 10)
    with pytest.raises(InvalidInput) as exc:
        book(starts_at=saturday)
    assert list(exc.value.errors) == ["override"]
    with pytest.raises(InvalidInput) as exc:
        book(starts_at=saturday, override=True)
    assert list(exc.value.errors) == ["reason"]
    appt = book(starts_at=saturday, override=True, reason="Extra clinic agreed")
    assert appt.override_reason == "Extra clinic agreed"


def test_leave_and_public_holidays_are_outside_availability(book, doctor, program, coordinator):
    tuesday = next_day(1, 10)
    services.availability_exception_add(clinician=doctor, starts_at=tuesday - timedelta(hours=2),
                                        ends_at=tuesday + timedelta(hours=8), actor=coordinator)
    with pytest.raises(InvalidInput) as exc:
        book(starts_at=tuesday)
    assert list(exc.value.errors) == ["override"]
    # 25 December 2031 is a Thursday and a public holiday in England.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    program.holiday_country, program.holiday_region = "GB", "ENG"
    program.save(update_fields=["holiday_country", "holiday_region"])
    with pytest.raises(InvalidInput):
        book(starts_at=datetime(2031, 12, 25, 10, tzinfo=ZoneInfo("Europe/London")))
    book(starts_at=datetime(2031, 12, 23, 10, tzinfo=ZoneInfo("Europe/London")))


def test_it_refuses_a_referral_of_another_patient(book, triaged_referral, make_patient):
    with pytest.raises(InvalidInput) as exc:
        book(patient=make_patient("Tom", "Fletcher"), referral=triaged_referral)
    assert "referral" in exc.value.errors


def test_it_refuses_someone_who_is_not_a_clinician(book, coordinator):
    with pytest.raises(InvalidInput) as exc:
        book(clinician=coordinator, override=True, reason="x")
    assert "clinician" in exc.value.errors


def test_attendance_opens_15_minutes_before_the_start(book):
    appt = book()
    with time_machine.travel(appt.starts_at - timedelta(minutes=16), tick=False):
        with pytest.raises(Conflict):
            services.appointment_status_set(appointment=appt, status="attended", actor=None)
    with time_machine.travel(appt.starts_at - timedelta(minutes=15), tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=None)
    appt.refresh_from_db()
    assert appt.status == "attended"


def test_first_attended_appointment_starts_treatment_at_its_start(book, triaged_referral,
                                                                 doctor):
    appt = book(referral=triaged_referral)
    with time_machine.travel(appt.starts_at + timedelta(minutes=50), tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
    referral = Referral.objects.get(pk=triaged_referral.pk)
    assert referral.status == "in_treatment"
    assert referral.first_visit_at == appt.starts_at
    assert _trail(referral)[-1] == ("scheduled", "in_treatment")


def test_a_marked_appointment_cannot_change_again(book):
    appt = book()
    with time_machine.travel(appt.starts_at + timedelta(hours=1), tick=False):
        services.appointment_status_set(appointment=appt, status="did_not_attend", actor=None)
        with pytest.raises(Conflict):
            services.appointment_status_set(appointment=appt, status="attended", actor=None)


def test_two_missed_visits_in_one_referral_open_one_review(book, triaged_referral, coordinator):
    first = book(starts_at=next_day(1, 10), referral=triaged_referral)
    second = book(starts_at=next_day(2, 10), referral=triaged_referral)
    third = book(starts_at=next_day(3, 10), referral=triaged_referral)
    with time_machine.travel(third.starts_at + timedelta(hours=1), tick=False):
        services.appointment_status_set(appointment=first, status="did_not_attend", actor=None)
        assert not AttendanceReview.objects.exists()
        services.appointment_status_set(appointment=second, status="did_not_attend", actor=None)
        services.appointment_status_set(appointment=third, status="did_not_attend", actor=None)
    review = AttendanceReview.objects.get()
    assert (review.referral_id, review.missed, review.reviewed_at) == (triaged_referral.pk, 2, None)
    services.attendance_review_close(review=review, actor=coordinator, note="Called, rebooked")
    with pytest.raises(Conflict):
        services.attendance_review_close(review=review, actor=coordinator)


@pytest.fixture
def attended(book, doctor):
    appt = book()
    with time_machine.travel(appt.starts_at, tick=False):
        services.appointment_status_set(appointment=appt, status="attended", actor=doctor)
    appt.refresh_from_db()
    return appt


def test_the_author_edits_the_note_until_signing_then_only_addenda(attended, doctor, clinician):
    note = services.visit_note_save(appointment=attended, actor=doctor, subjective="Pain 6/10",
                                    plan="Exercises", minutes=40)
    with pytest.raises(PermissionDenied):
        services.visit_note_save(appointment=attended, actor=clinician, plan="Other plan")
    note = services.visit_note_save(appointment=attended, actor=doctor, plan="Exercises x3")
    assert (note.subjective, note.plan, note.minutes) == ("Pain 6/10", "Exercises x3", 40)
    services.visit_note_sign(note=note, actor=doctor)
    with pytest.raises(Conflict):
        services.visit_note_save(appointment=attended, actor=doctor, plan="Changed")
    add = services.visit_note_addendum_add(note=note, text="Phoned: better", actor=clinician)
    assert add.author == clinician
    actions = list(AuditEvent.objects.filter(object_type="appointments.visitnote")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["visit_note.created", "visit_note.updated", "visit_note.signed",
                       "visit_note.addendum"]


def test_notes_are_for_attended_appointments(book, doctor):
    with pytest.raises(Conflict):
        services.visit_note_save(appointment=book(), actor=doctor, subjective="x")


def test_minutes_stay_between_0_and_600(attended, doctor):
    with pytest.raises(InvalidInput) as exc:
        services.visit_note_save(appointment=attended, actor=doctor, minutes=601)
    assert "minutes" in exc.value.errors
