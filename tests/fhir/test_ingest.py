"""Referrals in (SPEC §10): a primary-care system's service account posts a ServiceRequest
(or a transaction Bundle) and a `new` referral with its source enters the queue, once."""

import threading

import pytest
from django.db import connection

from ipm import roles
from patients.models import Patient, Program
from referrals.models import Referral
from tests.conftest import api_client_for, make_user

from .conftest import fhir_json, make_patient

pytestmark = pytest.mark.django_db
MRN_SYSTEM = "https://ipm.example/fhir/sid/mrn/ipm"


@pytest.fixture
def gp_system(db):
    user = make_user("gp-system", roles.INTEGRATION)
    user.first_name, user.last_name = "Riverside", "GP"
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.fixture
def sender(gp_system):
    return api_client_for(gp_system)


def service_request(ident="REQ-1", *, subject=None, contained=True, code="physio",
                    requester="Dr Jane Hale, Riverside Surgery", **extra):
    body = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "urn:oid:1.2.3.4.5", "value": ident}],
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91251008",
                             "display": "Physical therapy"},
                            {"system": "urn:local", "code": code}]},
        "subject": subject or {"reference": "#p"},
        "requester": {"display": requester},
        "reasonCode": [{"text": "Low back pain for 4 months"}],
    }
    if contained:
        body["contained"] = [patient_resource(id="p")]
    body.update(extra)
    return body


def patient_resource(mrn="GP-77", **extra):
    return {"resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
            "name": [{"family": "Okafor", "given": ["Ada"]}], "gender": "female",
            "birthDate": "1961-04-09",
            "telecom": [{"system": "email", "value": "ada@example.org"}], **extra}


def post(client, body, url="/fhir/ServiceRequest"):
    return client.post(url, body, format="json")


def test_it_receives_a_referral_once(sender, program):
    first = post(sender, service_request())
    created = fhir_json(first, 201)
    assert first["Location"].endswith(f"/fhir/ServiceRequest/{created['id']}")
    again = fhir_json(post(sender, service_request()), 200)
    assert again["id"] == created["id"]
    referral = Referral.objects.get()
    assert (referral.status, referral.priority, referral.service.code) == ("new", "urgent",
                                                                           "physio")
    assert referral.source == "Dr Jane Hale, Riverside Surgery"
    assert referral.reason == "Low back pain for 4 months"
    patient = Patient.objects.get()
    assert (patient.mrn, patient.family_name, patient.site.code) == ("GP-77", "Okafor", "main")
    assert created["identifier"] == [{"system": "urn:oid:1.2.3.4.5", "value": "REQ-1"}]


def test_it_names_the_service_account_when_no_requester_is_given(sender, program):
    body = service_request()
    del body["requester"]
    fhir_json(post(sender, body), 201)
    assert Referral.objects.get().source == "Riverside GP"


def test_it_matches_the_patient_on_the_mrn(sender, program):
    existing = make_patient(program, mrn="GP-77")
    fhir_json(post(sender, service_request(contained=False, subject={
        "identifier": {"system": MRN_SYSTEM, "value": "GP-77"}})), 201)
    fhir_json(post(sender, service_request("REQ-2")), 201)  # contained, same MRN
    assert Patient.objects.count() == 1
    assert set(Referral.objects.values_list("patient_id", flat=True)) == {existing.pk}


def test_it_receives_a_transaction_bundle(sender, program):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:9d1c3a52-0000-4000-8000-000000000001",
         "resource": patient_resource("GP-88"), "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:9d1c3a52-0000-4000-8000-000000000002",
         "resource": service_request("REQ-9", contained=False, subject={
             "reference": "urn:uuid:9d1c3a52-0000-4000-8000-000000000001"}),
         "request": {"method": "POST", "url": "ServiceRequest"}},
    ]}
    answer = fhir_json(post(sender, bundle, "/fhir/"), 200)
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created", "201 Created"]
    referral = Referral.objects.get()
    assert answer["entry"][1]["response"]["location"] == f"ServiceRequest/{referral.pk}"
    assert referral.patient.mrn == "GP-88"
    again = fhir_json(post(sender, bundle, "/fhir/"), 200)
    assert [e["response"]["status"] for e in again["entry"]] == ["200 OK", "200 OK"]
    assert Referral.objects.count() == 1 and Patient.objects.count() == 1


@pytest.mark.parametrize(("change", "element", "status"), [
    ({"status": "bogus"}, "ServiceRequest.status", 422),
    ({"status": 5}, "ServiceRequest.status", 400),
    ({"subject": {"reference": 12}}, "ServiceRequest.subject.reference", 400),
    ({"identifier": []}, "ServiceRequest.identifier", 422),
    ({"code": {"coding": [{"code": "surgery"}]}}, "ServiceRequest.code", 422),
    ({"reasonCode": []}, "ServiceRequest.reasonCode", 422),
    ({"contained": [patient_resource(id="p", identifier=[])]},
     "ServiceRequest.contained.identifier", 422),
    ({"subject": {"reference": "Patient/999999"}}, "ServiceRequest.subject", 422),
])
def test_it_refuses_bad_resources_naming_the_element(sender, program, change, element, status):
    body = service_request() | change
    if body["identifier"] == []:
        del body["identifier"]
    if body["reasonCode"] == []:
        del body["reasonCode"]
    outcome = fhir_json(post(sender, body), status)
    assert outcome["resourceType"] == "OperationOutcome"
    named = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert any(e.startswith(element) for e in named), outcome
    assert not Referral.objects.exists() and not Patient.objects.exists()


def test_it_refuses_a_body_that_is_not_fhir_json(sender, program):
    fhir_json(sender.post("/fhir/ServiceRequest", "x", content_type="application/fhir+json"),
              400)
    fhir_json(sender.post("/fhir/ServiceRequest", "a=b",
                          content_type="application/x-www-form-urlencoded"), 415)


def test_it_lets_the_service_account_do_nothing_else(sender, patient):
    fhir_json(sender.get(f"/fhir/Patient/{patient.pk}"), 403)
    fhir_json(sender.get("/fhir/ServiceRequest"), 403)
    assert sender.get("/api/patients/").status_code == 403


def test_it_refuses_referrals_in_from_staff(api, program):
    fhir_json(post(api, service_request()), 403)


def test_the_queue_shows_the_source(client, coordinator, sender, program):
    fhir_json(post(sender, service_request()), 201)
    client.force_login(coordinator)
    page = client.get("/referrals/").content.decode()
    assert "Dr Jane Hale, Riverside Surgery" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_referral_when_the_same_request_arrives_twice_at_once(gp_system):
    Program.default()
    body = service_request("RACE-1")
    barrier = threading.Barrier(4)
    statuses, errors = [], []

    def send():
        try:
            client = api_client_for(gp_system)
            barrier.wait(timeout=10)
            statuses.append(post(client, body).status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses) == [200, 200, 200, 201]
    assert Referral.objects.filter(source_identifier="RACE-1").count() == 1
    assert Patient.objects.filter(mrn="GP-77").count() == 1
