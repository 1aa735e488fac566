"""Hostile JSON: a body nested thousands of levels deep is refused with 400 in the one error
shape (it used to raise RecursionError deep in the decoder: a 500), on the API and
anonymously on the patient link; ordinary bodies still go through."""

from datetime import date

import pytest
from django.test import Client

from ipm import parsers

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


def _patient(clinician):
    from patients.services import patient_create

    return patient_create(actor=clinician, mrn="DEEP-1", given_name="Dee", family_name="Pest",
                          birth_date=date(1970, 1, 1), email="dee@example.org",
                          consent_to_contact=True)


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"answers": ' + DEEP + "}"])
@pytest.mark.parametrize("path", ["/api/responses/", "/api/patients/"])
def test_it_refuses_deeply_nested_json_on_the_api(api, path, body):
    r = api.post(path, body, content_type="application/json")
    assert r.status_code == 400
    assert "nested deeper than" in r.json()["message"]


def test_it_refuses_deeply_nested_json_on_an_intake(api, clinician):
    patient = _patient(clinician)
    body = '{"red_flags": {}, "startback": ' + DEEP_OBJECT + "}"
    r = api.post(f"/api/patients/{patient.pk}/intake/", body, content_type="application/json")
    assert r.status_code == 400
    assert not patient.intakes.exists()


@pytest.mark.parametrize("body", [DEEP, '{"answers": {"phq9": ' + DEEP_OBJECT + "}}"])
def test_it_refuses_deeply_nested_json_on_the_patient_link(clinician, body):
    from outcomes.services import questionnaire_link_create

    link, url = questionnaire_link_create(patient=_patient(clinician), instruments=["phq9"])
    path = "/" + url.split("/", 3)[3]
    r = Client().post(path, body, content_type="application/json")
    assert r.status_code == 400
    assert "nested deeper than" in r.json()["message"]
    link.refresh_from_db()
    assert link.used_at is None


def test_it_still_takes_ordinary_json(api):
    r = api.post("/api/patients/", {"mrn": "OK-1", "given_name": "Ann", "family_name": "Ok",
                                    "birth_date": "1980-02-03"}, format="json")
    assert r.status_code == 201


def test_it_allows_the_depth_limit_and_refuses_one_more():
    at_limit = "[" * parsers.MAX_JSON_DEPTH + "]" * parsers.MAX_JSON_DEPTH
    assert parsers.loads(at_limit, limit=parsers.MAX_JSON_DEPTH) == eval(at_limit)  # noqa: S307
    with pytest.raises(parsers.JSONTooDeep):
        parsers.loads("[" + at_limit + "]", limit=parsers.MAX_JSON_DEPTH)


def test_it_refuses_nan_as_drf_does():
    with pytest.raises(ValueError):
        parsers.loads('{"mme": NaN}')
