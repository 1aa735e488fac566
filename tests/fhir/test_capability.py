"""The CapabilityStatement is honest: every interaction, search parameter, _include,
_revinclude and operation it advertises answers (nothing advertised is a 400 or 404)."""

import pytest
from django.test import Client

from ipm import roles
from outcomes.services import response_create
from referrals.models import Service
from referrals.services import referral_create
from tests.conftest import api_client_for, make_user

from .conftest import fhir_json
from .test_ingest import patient_resource, service_request

pytestmark = pytest.mark.django_db

SAMPLE = {"token": "x", "date": "ge2000-01-01", "string": "a", "number": "45",
          "uri": "https://ipm.example/fhir/Questionnaire/phq9"}


@pytest.fixture
def world(patient, clinician):
    response = response_create(patient=patient, instrument="phq9",
                               answers={f"q{i}": 1 for i in range(1, 10)}, actor=clinician)
    referral = referral_create(patient=patient, service=Service.objects.get(code="physio"),
                               reason="Back pain", actor=clinician)
    ids = {"Patient": patient.pk, "QuestionnaireResponse": response.pk,
           "Observation": f"{response.pk}-total", "ServiceRequest": referral.pk,
           "Questionnaire": "phq9", "DocumentReference": f"{patient.pk}-intake",
           "Binary": f"{patient.pk}-intake", "Flag": None, "Appointment": None}
    return {"patient": patient, "ids": ids}


def statement():
    return fhir_json(Client().get("/fhir/metadata"))["rest"][0]


def base_query(resource: dict, patient_id: int) -> str:
    """A search needs its required parameters (documented as 'Required')."""
    required = [p["name"] for p in resource.get("searchParam", [])
                if p.get("documentation", "").startswith("Required")]
    return "&".join(f"{name}=Patient/{patient_id}" for name in required)


def test_every_advertised_search_parameter_works(api, world):
    pid = world["patient"].pk
    tried = 0
    for resource in statement()["resource"]:
        kind = resource["type"]
        if not any(i["code"] == "search-type" for i in resource["interaction"]):
            continue
        base = base_query(resource, pid)
        for param in resource.get("searchParam", []):
            value = (f"Patient/{pid}" if param["type"] == "reference"
                     else str(world["ids"].get(kind) or "1") if param["name"] == "_id"
                     else SAMPLE[param["type"]])
            extra = base if base and not base.startswith(f"{param['name']}=") else ""
            url = f"/fhir/{kind}?{param['name']}={value}" + (f"&{extra}" if extra else "")
            fhir_json(api.get(url))
            tried += 1
        for name in ("searchInclude", "searchRevInclude"):
            key = "_include" if name == "searchInclude" else "_revinclude"
            for value in resource.get(name, []):
                url = f"/fhir/{kind}?{key}={value}" + (f"&{base}" if base else "")
                fhir_json(api.get(url))
                tried += 1
        for common in ("_count=1", "_summary=count", "_sort=_id", "_sort=-_id"):
            fhir_json(api.get(f"/fhir/{kind}?{common}" + (f"&{base}" if base else "")))
    assert tried > 40


def test_every_advertised_read_and_operation_works(api, world):
    for resource in statement()["resource"]:
        kind, ident = resource["type"], world["ids"].get(resource["type"])
        if any(i["code"] == "read" for i in resource["interaction"]) and ident is not None:
            fhir_json(api.get(f"/fhir/{kind}/{ident}"))
        for op in resource.get("operation", []):
            if op["name"] == "everything":
                fhir_json(api.get(f"/fhir/{kind}/{world['patient'].pk}/$everything"))
            elif op["name"] == "export":
                r = api.get(f"/fhir/{kind}/$export", HTTP_PREFER="respond-async")
                assert r.status_code == 202
            else:
                pytest.fail(f"untested operation {op['name']}")


def test_every_advertised_write_works(program):
    rest = statement()
    sender = api_client_for(make_user("cap-gp", roles.INTEGRATION))
    created = [r["type"] for r in rest["resource"]
               if any(i["code"] == "create" for i in r["interaction"])]
    assert created == ["ServiceRequest"]
    fhir_json(sender.post("/fhir/ServiceRequest", service_request("CAP-1"), format="json"), 201)
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0c0a0c0a-0000-4000-8000-000000000001",
         "resource": patient_resource("CAP-P")},
        {"resource": service_request("CAP-2", contained=False, subject={
            "reference": "urn:uuid:0c0a0c0a-0000-4000-8000-000000000001"})}]}
    fhir_json(sender.post("/fhir/", bundle, format="json"), 200)
    assert [o["name"] for o in rest["operation"]] == ["export"]
    clinician = api_client_for(make_user("cap-clin", roles.CLINICIAN))
    assert clinician.get("/fhir/$export", HTTP_PREFER="respond-async").status_code == 202
