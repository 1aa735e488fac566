"""Referral fixtures: patients, services from the seeded catalogue, and referrals made
through the services (as users make them)."""

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from referrals import catalogue
from referrals.models import Service
from referrals.services import referral_create, referral_transition

_mrn = itertools.count(1000)


@pytest.fixture(autouse=True)
def _catalogue(request):
    """The seeded service catalogue, put back when a transactional test flushed it."""
    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    if not (uses_db or request.node.get_closest_marker("django_db")):
        return
    if not request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
    if not Service.objects.exists():
        catalogue.seed(Service)


@pytest.fixture
def make_patient(program):
    from patients.models import Patient

    def _make(given="Pat", family="Example", **fields):
        fields.setdefault("birth_date", date(1970, 5, 17))
        fields.setdefault("email", f"{given.lower()}.{family.lower()}@example.org")
        return Patient.objects.create(program=program, mrn=f"MRN{next(_mrn)}",
                                      given_name=given, family_name=family, **fields)

    return _make


@pytest.fixture
def patient(make_patient):
    return make_patient("Robin", "Hart")


@pytest.fixture
def service(db):
    return Service.objects.get(code="physio")


@pytest.fixture
def make_referral(clinician):
    def _make(patient, service="physio", *, priority="routine", status="new", days_ago=0,
              reason="Chronic low back pain, 6 months", actor=None):
        svc = service if isinstance(service, Service) else Service.objects.get(code=service)
        referral = referral_create(
            patient=patient, service=svc, reason=reason, priority=priority,
            actor=actor or clinician,
            referred_at=timezone.now() - timedelta(days=days_ago, minutes=1))
        for step in PATH_TO.get(status, ()):
            referral = referral_transition(referral=referral, to=step, actor=actor or clinician,
                                           reason="test reason")
        return referral

    return _make


PATH_TO = {
    "new": (),
    "triaged": ("triaged",),
    "scheduled": ("triaged", "scheduled"),
    "in_treatment": ("triaged", "scheduled", "in_treatment"),
    "discharged": ("triaged", "scheduled", "in_treatment", "discharged"),
    "declined": ("declined",),
    "cancelled": ("cancelled",),
}


@pytest.fixture
def referral(make_referral, patient):
    return make_referral(patient)
