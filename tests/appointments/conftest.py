"""Appointment fixtures: a clinician with weekly hours at the first site, patients, a
physiotherapy referral, and `next_day(weekday, hh, mm)` for times in the site's zone."""

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from appointments import services
from ipm import roles
from referrals import catalogue
from referrals.models import Service
from referrals.services import referral_create, referral_transition
from tests.conftest import make_user

_mrn = itertools.count(5000)
HOURS = [(d, "09:00", "17:00", None) for d in range(0, 5)]  # Monday to Friday, 9 to 5


@pytest.fixture(autouse=True)
def _catalogue(request):
    """The seeded service catalogue, put back when a transactional test flushed it; and no
    public holidays unless a test asks for them (dates below are "next Tuesday")."""
    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    if not (uses_db or request.node.get_closest_marker("django_db")):
        return
    if not request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
    if not Service.objects.exists():
        catalogue.seed(Service)
    from patients.models import Program

    Program.objects.filter(pk=Program.default().pk).update(holiday_country="")


@pytest.fixture
def site(program):
    return program.sites.order_by("pk").first()


@pytest.fixture
def physio(db):
    return Service.objects.get(code="physio")


@pytest.fixture
def doctor(db, site):
    """A clinician with Monday-Friday 09:00-17:00 hours at the first site."""
    user = make_user("dr-dee", roles.CLINICIAN)
    user.last_name = "Doe"
    user.save(update_fields=["last_name"])
    services.weekly_availability_set(clinician=user, site=site, windows=HOURS, actor=None)
    return user


@pytest.fixture
def make_patient(program):
    from patients.models import Patient

    def _make(given="Pat", family="Example", **fields):
        n = next(_mrn)
        fields.setdefault("birth_date", date(1970, 5, 17))
        fields.setdefault("email", f"p{n}@example.org")
        fields.setdefault("consent_to_contact", True)
        return Patient.objects.create(program=program, mrn=f"AP{n}", given_name=given,
                                      family_name=family, **fields)

    return _make


@pytest.fixture
def patient(make_patient):
    return make_patient("Maya", "Patel")


@pytest.fixture
def triaged_referral(patient, physio, coordinator):
    referral = referral_create(patient=patient, service=physio, reason="Low back pain",
                               actor=coordinator)
    return referral_transition(referral=referral, to="triaged", actor=coordinator)


def next_day(weekday: int, hh: int, mm: int = 0, weeks_ahead: int = 1,
             tz: str = "Europe/London") -> datetime:
    """The given weekday (0 Monday) at hh:mm local, at least a day ahead."""
    today = timezone.now().astimezone(ZoneInfo(tz)).date()
    day = today + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    day += timedelta(weeks=weeks_ahead - 1)
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(tz))


@pytest.fixture
def book(doctor, physio, patient, coordinator):
    def _book(starts_at=None, minutes=45, **kw):
        kw.setdefault("clinician", doctor)
        kw.setdefault("service", physio)
        kw.setdefault("patient", patient)
        kw.setdefault("actor", coordinator)
        return services.appointment_book(starts_at=starts_at or next_day(1, 10),
                                         duration_minutes=minutes, **kw)

    return _book
