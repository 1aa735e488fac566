"""Fixtures for care tests: patients created through the patients service, and a patient
not improving at 12 weeks (baseline PEG 8, a 13-week PEG still 7.67)."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

_mrn = itertools.count(1)


@pytest.fixture
def make_patient(clinician):
    from patients.services import patient_create

    def make(given="Pat", family="Example", actor=None, **fields):
        n = next(_mrn)
        return patient_create(actor=actor or clinician, mrn=f"C{n:04d}", given_name=given,
                              family_name=family, birth_date="1970-01-01",
                              email=f"c{n}@example.org", consent_to_contact=True, **fields)

    return make


@pytest.fixture
def patient(make_patient):
    return make_patient("Robin", "Hart")


@pytest.fixture
def not_improving(make_patient, clinician):
    """A patient whose 13-week PEG shows no improvement: `not_improving` is set."""
    from outcomes.services import response_create

    def make(given="Nia", family="Still"):
        p = make_patient(given, family)
        now = timezone.now()
        p.intake_date = timezone.localdate(now - timedelta(weeks=13))
        p.save(update_fields=["intake_date"])
        response_create(patient=p, instrument="peg", answers={"q1": 8, "q2": 8, "q3": 8},
                        actor=clinician, answered_at=now - timedelta(weeks=13))
        response_create(patient=p, instrument="peg", answers={"q1": 7, "q2": 8, "q3": 8},
                        actor=clinician, answered_at=now - timedelta(hours=1))
        p.refresh_from_db()
        assert p.not_improving
        return p

    return make
