import pytest

from appointments.demo import populate
from appointments.models import Appointment, VisitNote, WeeklyAvailability

pytestmark = pytest.mark.django_db


def test_the_demo_books_past_and_upcoming_visits_through_the_services(
        clinician, coordinator, program, patient, make_patient, triaged_referral, physio):
    from referrals.services import referral_create, referral_transition

    for i in range(4):
        ref = referral_create(patient=make_patient(f"P{i}", "Demo"), service=physio,
                              reason="Back pain", actor=coordinator)
        referral_transition(referral=ref, to="triaged", actor=coordinator)
    ctx = {"users": {"clinician": clinician, "coordinator": coordinator}, "program": program}
    populate(ctx)
    populate(ctx)  # a second run changes nothing
    statuses = sorted(Appointment.objects.values_list("status", flat=True))
    assert statuses == ["attended", "booked", "booked", "booked", "did_not_attend"]
    assert VisitNote.objects.get().signed_at is not None
    assert WeeklyAvailability.objects.filter(clinician=clinician).count() == 6
    first = Appointment.objects.get(status="attended").referral
    assert first.status == "in_treatment"
