"""Real clients against a running server (live_server): the SMART-on-FHIR Python client
(``fhirclient``) reads and searches; a plain HTTP client (requests) sends referrals in as a
service account and runs a Bulk Data export end to end, the export written by a real Celery
worker over Redis on PostgreSQL."""

import json
import os
import time

import pytest
import requests
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient as SmartPatient
from fhirclient.models.questionnaireresponse import QuestionnaireResponse
from fhirclient.models.servicerequest import ServiceRequest

from ipm import roles
from ipm.celery import app as celery_app
from outcomes.services import response_create
from referrals.models import Referral, Service
from referrals.services import referral_create
from tests.conftest import make_user, token_for

from .conftest import make_patient
from .test_ingest import MRN_SYSTEM, patient_resource, service_request

pytestmark = pytest.mark.django_db(transaction=True)


def smart(base: str, token: str):
    client = smart_client.FHIRClient(settings={"app_id": "ipm-tests", "api_base": base})
    client.server.session.headers["Authorization"] = f"Token {token}"
    return client


def test_fhirclient_reads_and_searches(live_server, program):
    clinician = make_user("fiona", roles.CLINICIAN)
    patient = make_patient(program, mrn="FC-1", given="Fay", family="Client")
    phq9 = response_create(patient=patient, instrument="phq9",
                           answers={f"q{i}": 1 for i in range(1, 10)}, actor=clinician)
    referral_create(patient=patient, service=Service.objects.get(code="physio"),
                    reason="Back pain", actor=clinician)
    base = f"{live_server.url}/fhir/"
    fhir = smart(base, token_for(clinician))
    fhir.prepare()
    assert isinstance(fhir.server.capabilityStatement, CapabilityStatement)

    read = SmartPatient.read(str(patient.pk), fhir.server)
    assert read.name[0].family == "Client" and read.meta.versionId

    found = list(SmartPatient.where({"identifier": f"{MRN_SYSTEM}|FC-1"})
                 .perform_resources_iter(fhir.server))
    assert [p.id for p in found] == [str(patient.pk)]

    responses = list(QuestionnaireResponse.where({"patient": str(patient.pk),
                                                  "_sort": "-authored"})
                     .perform_resources_iter(fhir.server))
    assert responses[0].id == str(phq9.pk)
    assert responses[0].item[0].answer[0].valueCoding.code == "LA6569-3"  # "Several days"

    with_patient = list(ServiceRequest.where({"patient": str(patient.pk),
                                              "_include": "ServiceRequest:patient"})
                        .perform_resources_iter(fhir.server))
    assert {type(r).__name__ for r in with_patient} == {"ServiceRequest", "Patient"}

    observations = list(Observation.where({"patient": str(patient.pk), "code": "44261-6"})
                        .perform_resources_iter(fhir.server))
    assert observations and observations[0].valueInteger == 9

    everything = Bundle(fhir.server.request_json(f"Patient/{patient.pk}/$everything"))
    fhir.server.session.close()  # lets the live server's keep-alive thread end
    kinds = {e.resource.resource_type for e in everything.entry}
    assert {"Patient", "QuestionnaireResponse", "Observation", "ServiceRequest",
            "DocumentReference"} <= kinds


@pytest.mark.redis
@pytest.mark.postgres
def test_a_plain_http_client_sends_referrals_and_runs_an_export(live_server, program, settings,
                                                               tmp_path):
    from tests.ipm.test_faults import reset_broker_connections
    from tests.ipm.test_worker import start_worker

    gp = make_user("gp-link", roles.INTEGRATION)
    clinician = make_user("hugo", roles.CLINICIAN)
    base = f"{live_server.url}/fhir"
    as_gp = requests.Session()
    as_gp.headers.update({"Authorization": f"Token {token_for(gp)}",
                          "Content-Type": "application/fhir+json"})
    as_clinician = requests.Session()
    as_clinician.headers.update({"Authorization": f"Token {token_for(clinician)}",
                                 "Accept": "application/fhir+json"})

    # Referrals in: a transaction Bundle, then a ServiceRequest for the same patient, twice.
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f0e6c9e-1111-4111-8111-000000000001",
         "resource": patient_resource("HTTP-1"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": service_request("HTTP-REQ-1", contained=False, subject={
            "reference": "urn:uuid:6f0e6c9e-1111-4111-8111-000000000001"}),
         "request": {"method": "POST", "url": "ServiceRequest"}}]}
    r = as_gp.post(f"{base}/", json=bundle)
    assert r.status_code == 200, r.text
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["201 Created", "201 Created"]
    second = service_request("HTTP-REQ-2", contained=False, code="psychology",
                             subject={"identifier": {"system": MRN_SYSTEM, "value": "HTTP-1"}})
    first = as_gp.post(f"{base}/ServiceRequest", json=second)
    again = as_gp.post(f"{base}/ServiceRequest", json=second)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert as_gp.get(f"{base}/Patient").status_code == 403  # the account reads nothing
    assert Referral.objects.filter(source_identifier__startswith="HTTP-REQ").count() == 2
    patient_id = Referral.objects.get(source_identifier="HTTP-REQ-1").patient_id

    # $everything for the new patient, on PostgreSQL.
    everything = as_clinician.get(f"{base}/Patient/{patient_id}/$everything").json()
    assert sum(e["resource"]["resourceType"] == "ServiceRequest"
               for e in everything["entry"]) == 2

    # $export through a real worker over Redis.
    redis_url = os.environ["IPM_TEST_REDIS_URL"]
    export_dir = tmp_path / "exports"
    settings.IPM_EXPORT_DIR = str(export_dir)
    os.environ["IPM_EXPORT_DIR"] = str(export_dir)
    old = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = redis_url, False
    reset_broker_connections()
    worker = start_worker(redis_url)
    try:
        kick = as_clinician.get(f"{base}/$export", headers={"Prefer": "respond-async"})
        assert kick.status_code == 202, kick.text
        status_url = kick.headers["Content-Location"]
        deadline = time.monotonic() + 90
        while True:
            status = as_clinician.get(status_url)
            if status.status_code != 202:
                break
            assert "X-Progress" in status.headers
            assert time.monotonic() < deadline, "the worker did not finish the export"
            time.sleep(0.5)
        assert status.status_code == 200, status.text
        manifest = status.json()
        files = {o["type"]: o["url"] for o in manifest["output"]}
        lines = as_clinician.get(files["ServiceRequest"]).text.splitlines()
        assert {"HTTP-REQ-1", "HTTP-REQ-2"} <= {
            i["value"] for line in lines for i in json.loads(line).get("identifier", [])}
        assert as_clinician.delete(status_url).status_code == 202
        assert as_clinician.get(status_url).status_code == 404
    finally:
        as_gp.close()
        as_clinician.close()
        worker.terminate()
        worker.wait(timeout=20)
        os.environ.pop("IPM_EXPORT_DIR", None)
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = old
        reset_broker_connections()
