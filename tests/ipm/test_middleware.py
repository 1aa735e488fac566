"""Responses that carry patient data are never cached (Cache-Control: no-store) on pages,
the API, FHIR and the patient's link page; static files stay cacheable; the Django admin
carries the Content-Security-Policy like every other page."""

from datetime import date

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinician):
    from patients.services import patient_create

    return patient_create(actor=clinician, mrn="NS-1", given_name="Nora", family_name="Store",
                          birth_date=date(1970, 1, 1), email="nora@example.org",
                          consent_to_contact=True)


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_pages_with_patient_data_are_not_stored(clinician, patient):
    c = Client()
    c.force_login(clinician)
    for path in (f"/patients/{patient.pk}/", "/patients/", "/worklist/", "/"):
        r = c.get(path)
        assert r.status_code == 200 and _no_store(r), path


def test_the_api_and_fhir_are_not_stored(api, patient):
    for path in (f"/api/patients/{patient.pk}/", "/api/patients/", f"/fhir/Patient/{patient.pk}"):
        r = api.get(path)
        assert r.status_code == 200 and _no_store(r), path
    r = Client().get("/api/patients/")  # even the 401
    assert r.status_code == 401 and _no_store(r)


def test_the_patient_link_page_is_not_stored(patient):
    from outcomes.services import questionnaire_link_create

    _, url = questionnaire_link_create(patient=patient, instruments=["phq9"])
    r = Client().get("/" + url.split("/", 3)[3])
    assert r.status_code == 200 and _no_store(r)


def test_static_files_stay_cacheable(clinician):
    c = Client()
    c.force_login(clinician)
    r = c.get("/static/vendor/htmx/htmx.min.js")
    assert r.status_code == 200
    assert not _no_store(r)


def test_the_django_admin_carries_a_content_security_policy(admin_client):
    for path in ("/admin/login/", "/admin/"):
        r = Client().get(path) if path == "/admin/login/" else admin_client.get(path)
        policy = r.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
    assert _no_store(admin_client.get("/admin/"))
