"""Data for the FHIR tests, made with the ORM (responses through the outcomes service so
their scores are the engine's), and a helper that checks every FHIR answer the way a FHIR
client would: content type, then the R4B model of its resourceType."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B import get_fhir_model_class

from outcomes.instruments import all_instruments
from outcomes.services import response_create
from patients.models import Patient

LONDON = ZoneInfo("Europe/London")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def fhir_json(response, status=200):
    """The body of a FHIR response, validated with fhir.resources (R4B)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    data = response.json()
    model = get_fhir_model_class(data["resourceType"]).model_validate(data)
    assert model is not None
    return data


def answers(instrument, value_index=-1, **overrides):
    """Every item that is asked answered with its option at ``value_index`` (last: the
    highest); items the skip logic leaves out stay unanswered."""
    out = {}
    for item in instrument.items:
        if instrument.applies(item.key, out):
            out[item.key] = item.options[value_index].value
    out.update(overrides)
    return out


def make_patient(program, mrn="MRN-1", given="Alice", family="Archer", **kw):
    return Patient.objects.create(program=program, mrn=mrn, given_name=given,
                                  family_name=family, birth_date=kw.pop("birth_date",
                                                                        date(1970, 5, 17)),
                                  sex=kw.pop("sex", "female"), **kw)


@pytest.fixture
def patient(program):
    return make_patient(program, email="alice@example.org", phone="+447700900123",
                        preferred_channel="sms")


@pytest.fixture
def other_patient(program):
    return make_patient(program, mrn="MRN-2", given="Bob", family="Baker", sex="male")


@pytest.fixture
def phq9(patient, clinician):
    """PHQ-9 total 11 (moderate), item 9 = 0, answered 1 March 2024 10:00 London."""
    values = {"q1": 2, "q2": 2, "q3": 2, "q4": 2, "q5": 1, "q6": 1, "q7": 1, "q8": 0,
              "q9": 0}
    return response_create(patient=patient, instrument="phq9", answers=values,
                           actor=clinician, answered_at=at(2024, 3, 1, 10, 0))


@pytest.fixture
def all_responses(patient, clinician):
    """One response per instrument, on consecutive days from 1 February 2024."""
    out = []
    for n, instrument in enumerate(all_instruments()):
        out.append(response_create(patient=patient, instrument=instrument.code,
                                   answers=answers(instrument, 0 if n % 2 else -1),
                                   actor=clinician,
                                   answered_at=at(2024, 2, 1, 9, 0) + timedelta(days=n)))
    return out


@pytest.fixture
def referral(patient, clinician):
    from referrals.models import Referral, Service

    return Referral.objects.create(patient=patient, service=Service.objects.get(code="physio"),
                                   reason="Low back pain, 6 months", priority="urgent",
                                   referred_by=clinician, referred_at=at(2024, 3, 2, 9, 30))


@pytest.fixture
def group(patient, other_patient, clinician, coordinator):
    """A series with two sessions (one past, one cancelled) and two enrolled patients."""
    from referrals.models import Service
    from visits.models import Enrolment, GroupSeries, GroupSession

    series = GroupSeries.objects.create(name="Living well with pain", capacity=8,
                                        service=Service.objects.get(code="group_programme"),
                                        lead_clinician=clinician, location="Room 4")
    series.sessions_made = [
        GroupSession.objects.create(series=series, starts_at=at(2024, 4, 2, 14, 0)),
        GroupSession.objects.create(series=series, starts_at=at(2024, 4, 9, 14, 0),
                                    status="cancelled"),
    ]
    series.sessions_made[0].facilitators.add(coordinator)
    Enrolment.objects.create(series=series, patient=patient, status="enrolled")
    Enrolment.objects.create(series=series, patient=other_patient, status="enrolled")
    return series
