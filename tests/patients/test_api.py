import pytest

from outcomes.models import QuestionnaireResponse, SafetyAlert
from patients.models import Intake, Patient

pytestmark = pytest.mark.django_db

NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                               "significant_trauma", "unexplained_weight_loss",
                               "progressive_neuro_deficit")}
HIGH_RISK_SB = {f"q{i}": 1 for i in range(1, 9)} | {"q9": 4}      # total 9, psychosocial 5
MEDIUM_RISK_SB = {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0, "q7": 0, "q8": 0, "q9": 3}
LOW_RISK_SB = {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 0, "q7": 0, "q8": 0, "q9": 0}
PATIENT = {"mrn": "MRN-1001", "given_name": "Ada", "family_name": "Lovelace",
           "birth_date": "1970-05-01", "sex": "female", "email": "ada@example.org",
           "phone": "+447700900123", "preferred_channel": "sms", "consent_to_contact": True,
           "timezone": "Europe/London"}


@pytest.fixture
def patient_id(api):
    r = api.post("/api/patients/", PATIENT, format="json")
    assert r.status_code == 201, r.json()
    return r.json()["id"]


def test_it_creates_a_patient_and_returns_its_id(api):
    r = api.post("/api/patients/", PATIENT, format="json")
    assert r.status_code == 201
    body = r.json()
    assert body["id"] and body["mrn"] == "MRN-1001"
    assert body["risk_group"] is None and body["pathway"] is None and body["flags"] == []


def test_it_refuses_a_duplicate_mrn_naming_the_field(api, patient_id):
    r = api.post("/api/patients/", PATIENT | {"given_name": "Other"}, format="json")
    assert r.status_code == 409
    assert "mrn" in r.json()["errors"]
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(("field", "value"), [("email", "not-an-email"), ("phone", "07700 900123"),
                                              ("timezone", "Mars/Olympus"), ("birth_date", "")])
def test_it_refuses_bad_patient_fields_naming_them(api, field, value):
    r = api.post("/api/patients/", PATIENT | {field: value}, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert not Patient.objects.exists()


def test_it_searches_by_name_or_mrn(api, patient_id):
    api.post("/api/patients/", PATIENT | {"mrn": "X-9", "given_name": "Grace",
                                          "family_name": "Hopper"}, format="json")
    assert [p["mrn"] for p in api.get("/api/patients/?q=hopper").json()["results"]] == ["X-9"]
    assert [p["mrn"] for p in api.get("/api/patients/?q=MRN-1001").json()["results"]] == ["MRN-1001"]
    body = api.get("/api/patients/").json()
    assert set(body) >= {"count", "next", "previous", "results"} and body["count"] == 2


@pytest.mark.parametrize(("startback", "risk", "pathway"), [
    (LOW_RISK_SB, "low", "self_management"),
    (MEDIUM_RISK_SB, "medium", "physiotherapy"),
    (HIGH_RISK_SB, "high", "psychologically_informed_physio"),
])
def test_it_stratifies_at_intake(api, patient_id, startback, risk, pathway):
    r = api.post(f"/api/patients/{patient_id}/intake/",
                 {"red_flags": NO_FLAGS, "startback": startback, "mme": 0}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["risk_group"] == risk
    assert body["suggested_pathway"] == pathway
    assert body["scores"]["startback"]["risk_group"] == risk
    detail = api.get(f"/api/patients/{patient_id}/").json()
    assert detail["risk_group"] == risk and detail["pathway"] == pathway


def test_a_red_flag_routes_to_urgent_review_but_still_scores(api, patient_id):
    r = api.post(f"/api/patients/{patient_id}/intake/",
                 {"red_flags": NO_FLAGS | {"cauda_equina": True}, "startback": LOW_RISK_SB},
                 format="json")
    body = r.json()
    assert body["risk_group"] == "low"
    assert body["suggested_pathway"] == "urgent_medical_review"
    assert {"service": "pain_medicine", "priority": "urgent"}.items() <= body["suggested_referrals"][0].items()
    assert "red_flag" in api.get(f"/api/patients/{patient_id}/").json()["flags"]


def test_it_opens_a_safety_alert_for_phq9_item9_at_intake(api, patient_id):
    phq9 = {f"q{i}": 0 for i in range(1, 10)} | {"q9": 1}
    r = api.post(f"/api/patients/{patient_id}/intake/",
                 {"red_flags": NO_FLAGS, "startback": LOW_RISK_SB, "phq9": phq9}, format="json")
    assert r.status_code == 201
    assert r.json()["alerts"][0]["kind"] == "phq9_item9"
    assert SafetyAlert.objects.filter(patient_id=patient_id, status="open").count() == 1


def test_bad_intake_input_saves_nothing_and_names_each_item(api, patient_id):
    flags = dict(NO_FLAGS)
    del flags["cancer_history"]
    r = api.post(f"/api/patients/{patient_id}/intake/",
                 {"red_flags": flags, "startback": LOW_RISK_SB | {"q9": 7},
                  "phq9": {"q1": 0}, "mme": -5}, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "cancer_history" in errors["red_flags"]
    assert "q9" in errors["startback"]
    assert "q2" in errors["phq9"]
    assert "mme" in errors
    assert not Intake.objects.exists()
    assert not QuestionnaireResponse.objects.exists()
    assert Patient.objects.get(pk=patient_id).risk_group == ""


def test_override_needs_a_reason(api, patient_id):
    api.post(f"/api/patients/{patient_id}/intake/",
             {"red_flags": NO_FLAGS, "startback": MEDIUM_RISK_SB}, format="json")
    r = api.post(f"/api/patients/{patient_id}/pathway/", {"pathway": "self_management"},
                 format="json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = api.post(f"/api/patients/{patient_id}/pathway/",
                 {"pathway": "self_management", "reason": "Prefers to self-manage first"},
                 format="json")
    assert r.status_code == 200 and r.json()["pathway"] == "self_management"


def test_admins_cannot_read_patient_detail(admin_api, patient_id):
    assert admin_api.get(f"/api/patients/{patient_id}/").status_code == 403
    assert admin_api.get("/api/patients/").status_code == 403


def test_a_patient_read_through_the_api_is_audited(api, patient_id, clinician):
    from ipm.models import AuditEvent

    api.get(f"/api/patients/{patient_id}/", REMOTE_ADDR="10.1.2.3")
    ev = AuditEvent.objects.filter(action="read", patient_id=patient_id).latest("id")
    assert ev.actor == clinician and ev.ip == "10.1.2.3"


def test_the_patient_list_api_runs_a_constant_number_of_queries(api, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(30):
        api.post("/api/patients/", PATIENT | {"mrn": f"Q-{i}"}, format="json")
    with CaptureQueriesContext(connection) as small:
        assert api.get("/api/patients/?page_size=5").status_code == 200
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(api.get("/api/patients/?page_size=30").json()["results"]) == 30
