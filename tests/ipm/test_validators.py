"""Implausible dates are refused per field, with a 400 naming the field and nothing saved:
birth dates in the future or before 1900, and care dates (group sessions, answered
questionnaires, metrics ranges) outside 2000-2099, such as the year 0169. The database
holds the fixed bounds too."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from ipm.validators import validate_birth_date, validate_care_date

pytestmark = pytest.mark.django_db

PATIENT = {"mrn": "D-1", "given_name": "Dot", "family_name": "Date"}


@pytest.mark.parametrize("birth_date", [
    "1899-12-31", "0169-05-01",
    (timezone.localdate() + timedelta(days=1)).isoformat(), "2999-01-01"])
def test_it_refuses_an_implausible_birth_date_on_the_api(api, birth_date):
    from patients.models import Patient

    r = api.post("/api/patients/", {**PATIENT, "birth_date": birth_date}, format="json")
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["birth_date"]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("birth_date", ["1900-01-01", timezone.localdate().isoformat()])
def test_it_takes_birth_dates_at_the_bounds(api, birth_date):
    r = api.post("/api/patients/", {**PATIENT, "birth_date": birth_date}, format="json")
    assert r.status_code == 201


def test_it_refuses_an_implausible_birth_date_on_update(api):
    pk = api.post("/api/patients/", {**PATIENT, "birth_date": "1970-01-01"},
                  format="json").json()["id"]
    r = api.patch(f"/api/patients/{pk}/", {"birth_date": "1800-01-01"}, format="json")
    assert r.status_code == 400 and "birth_date" in r.json()["errors"]


def test_it_refuses_an_implausible_birth_date_on_the_intake_page(clinician):
    c = Client()
    c.force_login(clinician)
    r = c.post("/patients/intake/", {"step": "demographics", **PATIENT,
                                     "birth_date": "1850-01-01", "sex": "unknown",
                                     "preferred_channel": "none", "timezone": "Europe/London"})
    assert r.status_code in (200, 400)
    assert b"1900-01-01" in r.content


@pytest.mark.parametrize("starts_at", ["0169-03-04T10:00:00Z", "1999-12-31T23:00:00Z",
                                       "2100-01-01T00:00:00Z"])
def test_it_refuses_group_sessions_in_implausible_years(coordinator_api, starts_at):
    from visits.models import GroupSeries

    r = coordinator_api.post("/api/group-series/", {
        "name": "Pain school", "service": "group_programme", "capacity": 8,
        "sessions": [{"starts_at": "2030-01-01T10:00:00Z"}, {"starts_at": starts_at}]},
        format="json")
    assert r.status_code == 400
    assert "sessions" in r.json()["errors"]
    assert not GroupSeries.objects.exists()


def test_it_refuses_an_answer_time_in_year_0169(api):
    pk = api.post("/api/patients/", {**PATIENT, "birth_date": "1970-01-01"},
                  format="json").json()["id"]
    r = api.post("/api/responses/", {"patient": pk, "instrument": "peg",
                                     "answers": {"q1": 5, "q2": 5, "q3": 5},
                                     "answered_at": "0169-01-01T00:00:00Z"}, format="json")
    assert r.status_code == 400 and "answered_at" in r.json()["errors"]


@pytest.mark.parametrize("query", ["to=0001-01-01", "from=0169-01-01&to=0169-01-31"])
def test_it_refuses_metrics_ranges_in_implausible_years(admin_api, query):
    r = admin_api.get(f"/api/metrics/program/?{query}")
    assert r.status_code == 400


def test_the_database_refuses_what_validation_would(program):
    from patients.models import Patient
    from visits.models import GroupSeries, GroupSession

    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(program=program, mrn="X", given_name="A", family_name="B",
                               birth_date=date(1899, 1, 1))
    from referrals.models import Service

    series = GroupSeries.objects.create(name="S", capacity=4,
                                        service=Service.objects.get(code="group_programme"))
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupSession.objects.create(series=series, starts_at=datetime(169, 3, 4, tzinfo=UTC))


def test_the_validators_name_their_bounds():
    from django.core.exceptions import ValidationError

    validate_birth_date(date(1900, 1, 1))
    validate_care_date(datetime(2099, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(ValidationError, match="1900-01-01"):
        validate_birth_date(date(1899, 12, 31))
    with pytest.raises(ValidationError, match="2000-01-01"):
        validate_care_date(date(169, 1, 1))
