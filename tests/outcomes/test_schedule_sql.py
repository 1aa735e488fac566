import random
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from outcomes import schedule
from outcomes.models import QuestionnaireResponse
from outcomes.selectors import attach_measures_due, patients_with_measures_due

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


def test_it_selects_in_sql_exactly_the_patients_the_schedule_says_are_due(make_patient):
    rng = random.Random(7)
    expected = set()
    for _ in range(80):
        intake = TODAY - timedelta(days=rng.randint(-5, 400))
        patient = make_patient(intake_date=intake)
        answered = []
        for _ in range(rng.randint(0, 6)):
            code = rng.choice(["peg", "phq9", "gad7", "promis29", "nps"])
            day = intake + timedelta(days=rng.randint(-20, 380))
            if day > TODAY:
                continue
            QuestionnaireResponse.objects.create(
                patient=patient, instrument=code, instrument_version="x", answers={},
                scores={}, answered_at=_at(day))
            answered.append((code, day))
        if schedule.measures_due(intake_date=intake, today=TODAY, responses=answered):
            expected.add(patient.pk)
    selected = list(patients_with_measures_due(today=TODAY))
    assert {p.pk for p in selected} == expected
    assert expected  # the sample does exercise the rule
    attach_measures_due(selected, today=TODAY)
    assert all(p.measures_due for p in selected)
