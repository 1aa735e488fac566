"""Fixtures for group programmes: patients, a series built through the services, and
helpers to plan sessions relative to now."""

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from referrals.models import Service
from visits import services
from visits.recurrence import PlannedSession

_mrn = itertools.count(1000)


@pytest.fixture
def make_patient(program):
    from patients.models import Patient

    def _make(given="Pat", family=None, channel="email", **kw):
        n = next(_mrn)
        return Patient.objects.create(
            program=program, mrn=f"MRN{n}", given_name=given, family_name=family or f"Person{n}",
            birth_date=date(1970, 1, 1), email=f"p{n}@example.org", phone="+447700900123",
            preferred_channel=channel, consent_to_contact=True, **kw)

    return _make


def ensure_services() -> None:
    """The seeded catalogue, again if a transactional test elsewhere flushed it."""
    from referrals.catalogue import SERVICES

    for code, name, discipline, triage, first_visit, group in SERVICES:
        Service.objects.get_or_create(code=code, defaults={
            "name": name, "discipline": discipline, "sla_triage_days": triage,
            "sla_first_visit_days": first_visit, "is_group_based": group})


@pytest.fixture
def group_service(db):
    ensure_services()
    return Service.objects.get(code="group_programme")


def weekly(start, n=6, minutes=90):
    return [PlannedSession(start + timedelta(weeks=i), minutes) for i in range(n)]


@pytest.fixture
def make_series(group_service, coordinator, clinician):
    def _make(*, capacity=8, sessions=None, start=None, n=6, lead=clinician, **kw):
        start = start or (timezone.now() + timedelta(days=7))
        return services.series_create(
            name=kw.pop("name", "Living well with pain"), service=kw.pop("service", group_service),
            capacity=capacity, lead_clinician=lead, actor=coordinator,
            sessions=sessions if sessions is not None else weekly(start, n), **kw)

    return _make


@pytest.fixture
def enrol(coordinator):
    def _enrol(series, patient):
        return services.enrolment_create(series=series, patient=patient, actor=coordinator)

    return _enrol
