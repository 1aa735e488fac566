"""Fixtures for outcomes tests: patients as the intake leaves them, a clinical lead, and
answer sets for the instruments (`answers.peg_bad`, `answers.phq9(item9=1)`, ...)."""

import itertools
from datetime import date
from types import SimpleNamespace

import pytest

_mrn = itertools.count(1000)


def _phq9(item9: int = 0, rest: int = 1) -> dict:
    answers = {f"q{i}": rest for i in range(1, 9)}
    answers["q9"] = item9
    return answers


def _gad7(value: int = 1) -> dict:
    return {f"q{i}": value for i in range(1, 8)}


ANSWERS = SimpleNamespace(
    peg_bad={"q1": 8, "q2": 8, "q3": 8},        # PEG 8.0
    peg_better={"q1": 4, "q2": 5, "q3": 5},     # PEG 4.67: improved by >= 30 %
    peg_same={"q1": 7, "q2": 8, "q3": 8},       # PEG 7.67: not improved
    phq9=_phq9,
    gad7=_gad7,
    nps={"q1": 9},
)


@pytest.fixture
def answers():
    return ANSWERS


def _make_patient(program, **fields):
    from patients.models import Patient

    n = next(_mrn)
    defaults = {"mrn": f"MRN{n}", "given_name": f"Pat{n}", "family_name": "Example",
                "birth_date": date(1970, 1, 1), "email": f"p{n}@example.org",
                "preferred_channel": "email", "consent_to_contact": True,
                "intake_date": date(2026, 1, 5)}
    defaults.update(fields)
    return Patient.objects.create(program=program, **defaults)


@pytest.fixture
def make_patient(program):
    def make(**fields):
        return _make_patient(fields.pop("program", program), **fields)

    return make


@pytest.fixture
def patient(make_patient, clinician):
    return make_patient(given_name="Robin", family_name="Hart", clinician=clinician)


def _user(username: str, *role_names: str):
    from django.contrib.auth.models import Group, User

    from ipm import roles

    roles.ensure_role_groups()
    user = User.objects.create_user(username=username, password="pw-for-tests-1",
                                    first_name=username.title())
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


@pytest.fixture
def lead(db, program):
    """The program's clinical lead (receives escalations)."""
    from ipm import roles

    user = _user("lena", roles.CLINICIAN)
    program.clinical_lead = user
    program.save(update_fields=["clinical_lead"])
    return user
