"""Enrolling books the person's referral to the group service; the first attended session
starts their treatment (docs/product.md §3.2 states, through referral_transition)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.models import Referral, Service
from referrals.services import referral_create, referral_transition
from visits import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def refer(clinician):
    def _refer(patient, code="group_programme"):
        return referral_create(patient=patient, service=Service.objects.get(code=code),
                               reason="Chronic low back pain; group programme", actor=clinician)

    return _refer


def _trail(referral):
    return list(referral.events.order_by("at", "pk").values_list("from_status", "to_status"))


def test_enrolling_moves_a_new_referral_through_triaged_to_scheduled(make_series, make_patient,
                                                                    enrol, refer):
    series = make_series(capacity=2)
    p = make_patient()
    referral = refer(p)
    enrol(series, p)
    referral.refresh_from_db()
    assert referral.status == "scheduled"
    assert _trail(referral) == [("", "new"), ("new", "triaged"), ("triaged", "scheduled")]
    assert referral.scheduled_at is not None


def test_enrolling_moves_a_triaged_referral_to_scheduled(make_series, make_patient, enrol,
                                                        refer, coordinator):
    series = make_series(capacity=2)
    p = make_patient()
    referral = referral_transition(referral=refer(p), to="triaged", actor=coordinator)
    enrol(series, p)
    referral.refresh_from_db()
    assert referral.status == "scheduled"


def test_it_leaves_referrals_to_other_services_alone(make_series, make_patient, enrol, refer):
    series = make_series(capacity=2)
    p = make_patient()
    physio, yoga = refer(p, "physio"), refer(p, "yoga")
    enrol(series, p)  # a group_programme series
    assert Referral.objects.get(pk=physio.pk).status == "new"
    assert Referral.objects.get(pk=yoga.pk).status == "new"


def test_a_waitlisted_person_is_scheduled_when_promoted(make_series, make_patient, enrol, refer,
                                                       coordinator):
    series = make_series(capacity=1)
    first, waiting = make_patient(), make_patient()
    enrol(series, first)
    referral = refer(waiting)
    enrol(series, waiting)
    assert Referral.objects.get(pk=referral.pk).status == "new"
    services.enrolment_withdraw(series=series, patient=first, actor=coordinator)
    assert Referral.objects.get(pk=referral.pk).status == "scheduled"


def test_the_first_attended_session_moves_the_referral_to_in_treatment(
        make_series, make_patient, enrol, refer, coordinator):
    series = make_series(capacity=2, start=timezone.now() - timedelta(days=8), n=3)
    p = make_patient()
    referral = refer(p)
    enrol(series, p)
    first, second, _ = series.sessions.order_by("starts_at")
    services.attendance_mark(session=first, patient=p, status="absent", actor=coordinator)
    assert Referral.objects.get(pk=referral.pk).status == "scheduled"
    services.attendance_mark(session=second, patient=p, status="present", actor=coordinator)
    referral.refresh_from_db()
    assert referral.status == "in_treatment"
    assert referral.first_visit_at is not None
    # Later attendance leaves it in treatment (no second transition, no error).
    services.attendance_mark(session=first, patient=p, status="present", actor=coordinator)
    assert Referral.objects.get(pk=referral.pk).status == "in_treatment"
    assert _trail(referral)[-1] == ("scheduled", "in_treatment")
