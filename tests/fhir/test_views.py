"""The FHIR read API as a FHIR client sees it: every answer is parsed with the
fhir.resources (R4B) model of its resourceType by ``fhir_json``."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ipm.models import AuditEvent
from outcomes.instruments import CODES
from outcomes.instruments import get as instrument
from outcomes.models import SafetyAlert
from outcomes.services import response_create

from .conftest import answers, at, fhir_json, make_patient

pytestmark = pytest.mark.django_db


def entries(bundle):
    return [e["resource"] for e in bundle.get("entry", [])]


def link(bundle, relation):
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


# --- auth and roles --------------------------------------------------------------------------

PATIENT_DATA_URLS = ["/fhir/Patient/{p}", "/fhir/Patient?name=ali",
                     "/fhir/QuestionnaireResponse?patient={p}", "/fhir/Observation?patient={p}",
                     "/fhir/ServiceRequest?patient={p}", "/fhir/Appointment?patient={p}",
                     "/fhir/Flag?patient={p}"]


@pytest.mark.parametrize("url", PATIENT_DATA_URLS)
def test_it_answers_anonymous_requests_with_401(url, patient):
    r = Client().get(url.format(p=patient.pk))
    outcome = fhir_json(r, 401)
    assert outcome["issue"][0]["code"] == "login"
    assert r["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("url", PATIENT_DATA_URLS)
def test_it_refuses_patient_data_to_admins(url, admin_api, patient):
    outcome = fhir_json(admin_api.get(url.format(p=patient.pk)), 403)
    assert outcome["issue"][0]["code"] == "forbidden"
    assert not AuditEvent.objects.filter(action__in=["read", "list"]).exists()


def test_it_refuses_patient_data_to_users_without_a_role(nobody, patient):
    from tests.conftest import api_client_for

    fhir_json(api_client_for(nobody).get(f"/fhir/Patient/{patient.pk}"), 403)


def test_it_serves_coordinators_and_browser_sessions(coordinator_api, clinician, patient):
    fhir_json(coordinator_api.get(f"/fhir/Patient/{patient.pk}"))
    browser = Client()
    browser.force_login(clinician)
    fhir_json(browser.get(f"/fhir/Patient/{patient.pk}"))


def test_it_refuses_a_bad_token_with_401(patient):
    r = Client().get(f"/fhir/Patient/{patient.pk}", HTTP_AUTHORIZATION="Token nope")
    fhir_json(r, 401)


def test_it_serves_the_capability_statement_to_anyone():
    statement = fhir_json(Client().get("/fhir/metadata"))
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    described = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(described) == {"Patient", "Questionnaire", "QuestionnaireResponse",
                              "Observation", "ServiceRequest", "Appointment", "Flag",
                              "DocumentReference", "Binary",
                              "Encounter", "Schedule", "Slot"}  # the last three: appointments
    params = {p["name"] for p in described["Observation"]["searchParam"]}
    assert params == {"patient", "code", "date", "_id", "_lastUpdated"}


def test_it_lets_admins_read_questionnaire_definitions(admin_api):
    bundle = fhir_json(admin_api.get("/fhir/Questionnaire"))
    assert bundle["total"] == len(CODES)


# --- audit -----------------------------------------------------------------------------------

def test_it_audits_a_patient_read(api, clinician, patient):
    fhir_json(api.get(f"/fhir/Patient/{patient.pk}"))
    event = AuditEvent.objects.get(action="read")
    assert (event.actor, event.patient_id, event.object_type) == (clinician, patient.pk,
                                                                  "patients.patient")
    assert event.path == f"/fhir/Patient/{patient.pk}"
    assert event.detail["fhir"] == f"Patient/{patient.pk}"


def test_it_audits_a_search_page_with_the_patients_shown(api, patient, other_patient):
    fhir_json(api.get("/fhir/Patient?_count=1"))
    event = AuditEvent.objects.get(action="list")
    assert event.object_type == "patients.patient"
    assert event.detail["patient_ids"] == [patient.pk]  # Archer sorts before Baker
    assert event.patient_id == patient.pk


@pytest.mark.parametrize("resource", ["QuestionnaireResponse", "Observation", "Flag"])
def test_it_audits_searches_of_each_patient_resource(api, resource, patient, all_responses):
    fhir_json(api.get(f"/fhir/{resource}?patient={patient.pk}"))
    event = AuditEvent.objects.get(action="list")
    assert event.patient_id == patient.pk
    assert event.detail == {"fhir": resource, "patient_ids": [patient.pk]}


def test_it_audits_reads_of_every_resource(api, patient, phq9, referral, group, clinician):
    alert = SafetyAlert.objects.create(patient=patient, response=phq9, assigned_to=clinician)
    session = group.sessions_made[0]
    for url in (f"/fhir/QuestionnaireResponse/{phq9.pk}", f"/fhir/Observation/{phq9.pk}-total",
                f"/fhir/ServiceRequest/{referral.pk}", f"/fhir/Flag/{alert.pk}",
                f"/fhir/Appointment/{session.pk}"):
        fhir_json(api.get(url))
    reads = {e.detail["fhir"]: e for e in AuditEvent.objects.filter(action="read")}
    assert set(reads) == {f"QuestionnaireResponse/{phq9.pk}", f"Observation/{phq9.pk}-total",
                          f"ServiceRequest/{referral.pk}", f"Flag/{alert.pk}",
                          f"Appointment/{session.pk}"}
    assert reads[f"Observation/{phq9.pk}-total"].object_id == str(phq9.pk)
    assert all(e.patient_id == patient.pk for k, e in reads.items() if "Appointment" not in k)
    # A group session shows every participant: all of them are in the trail.
    assert len(reads[f"Appointment/{session.pk}"].detail["patient_ids"]) == 2


def test_it_writes_no_audit_row_when_nothing_was_shown(api, patient):
    fhir_json(api.get("/fhir/Patient?identifier=nobody"))
    fhir_json(api.get("/fhir/Patient/999999"), 404)
    assert not AuditEvent.objects.filter(action__in=["read", "list"]).exists()


# --- Patient ---------------------------------------------------------------------------------

def test_it_serves_a_patient(api, patient):
    data = fhir_json(api.get(f"/fhir/Patient/{patient.pk}"))
    assert data["id"] == str(patient.pk)
    assert data["identifier"][0] == {
        "use": "usual", "system": "https://ipm.example/fhir/sid/mrn/ipm", "value": "MRN-1",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                             "code": "MR", "display": "Medical record number"}],
                 "text": "MRN"}}
    assert data["name"][0]["family"] == "Archer" and data["name"][0]["given"] == ["Alice"]
    assert (data["birthDate"], data["gender"]) == ("1970-05-17", "female")
    telecom = {t["system"]: t for t in data["telecom"]}
    assert telecom["phone"]["value"] == "+447700900123" and telecom["phone"]["rank"] == 1


@pytest.mark.parametrize(("query", "found"), [
    ("identifier=MRN-2", ["Baker"]),
    ("identifier=https://ipm.example/fhir/sid/mrn/ipm|MRN-1", ["Archer"]),
    ("identifier=https://elsewhere.example/mrn|MRN-1", []),
    ("identifier=MRN-1,MRN-2", ["Archer", "Baker"]),
    ("name=ali", ["Archer"]),
    ("name=BAK", ["Baker"]),
    ("name=a,b", ["Archer", "Baker"]),
    ("name=alice&name=archer", ["Archer"]),
    ("name=lice", []),
    ("birthdate=1970", ["Archer"]),
    ("birthdate=ge1980-01-01", ["Baker"]),
    ("", ["Archer", "Baker"]),
])
def test_it_searches_patients(api, patient, program, query, found):
    make_patient(program, mrn="MRN-2", given="Bob", family="Baker", birth_date=at(1985, 1, 1))
    bundle = fhir_json(api.get(f"/fhir/Patient?{query}"))
    assert [p["name"][0]["family"] for p in entries(bundle)] == found
    assert bundle["total"] == len(found)


# --- Questionnaire ---------------------------------------------------------------------------

def test_it_serves_one_questionnaire_per_instrument(api):
    bundle = fhir_json(api.get("/fhir/Questionnaire?_count=50"))
    ids = [q["id"] for q in entries(bundle)]
    assert ids == [code.replace("_", "-") for code in CODES]


def test_it_codes_phq9_items_and_options(api):
    q = fhir_json(api.get("/fhir/Questionnaire/phq9"))
    assert q["url"] == "https://ipm.example/fhir/Questionnaire/phq9"
    assert q["code"] == [{"system": "http://loinc.org", "code": "44249-1",
                          "display": "PHQ-9 quick depression assessment panel"}]
    first = q["item"][0]
    assert first["linkId"] == "q1" and first["type"] == "choice" and first["required"] is True
    assert first["code"][0]["code"] == "44250-9"
    options = [o["valueCoding"] for o in first["answerOption"]]
    # LOINC answer codes (LA…) from the instrument facts; the stored value as ordinalValue.
    assert [o["code"] for o in options] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert {o["system"] for o in options} == {"http://loinc.org"}
    assert [o["extension"][0]["valueDecimal"] for o in options] == [0, 1, 2, 3]
    assert options[0]["display"] == "Not at all"
    assert first["answerOption"][3]["extension"][0]["valueDecimal"] == 3


@pytest.mark.parametrize("ident", ["promis_gh", "promis-gh"])
def test_it_reads_a_questionnaire_by_code_or_fhir_id(api, ident):
    assert fhir_json(api.get(f"/fhir/Questionnaire/{ident}"))["id"] == "promis-gh"


def test_it_finds_a_questionnaire_by_url(api):
    bundle = fhir_json(api.get("/fhir/Questionnaire?url=https://ipm.example/fhir/Questionnaire/gad7"))
    assert [q["id"] for q in entries(bundle)] == ["gad7"]


# --- QuestionnaireResponse -------------------------------------------------------------------

def test_it_serves_a_questionnaire_response(api, patient, phq9):
    data = fhir_json(api.get(f"/fhir/QuestionnaireResponse/{phq9.pk}"))
    assert data["questionnaire"] == "https://ipm.example/fhir/Questionnaire/phq9"
    assert data["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert data["status"] == "completed"
    assert data["authored"].startswith("2024-03-01T10:00:00")
    answered = {i["linkId"]: i["answer"][0]["valueCoding"] for i in data["item"]}
    assert answered["q1"]["code"] == "LA6570-1" and answered["q9"]["code"] == "LA6568-5"
    assert answered["q1"]["system"] == "http://loinc.org"
    assert answered["q1"]["extension"][0]["valueDecimal"] == 2
    assert "q10" not in answered
    assert data["extension"][0]["valueString"] == phq9.instrument_version


@pytest.mark.parametrize(("query", "instruments"), [
    ("questionnaire=phq9", ["phq9"]),
    ("questionnaire=https://ipm.example/fhir/Questionnaire/promis-gh", ["promis_gh"]),
    ("authored=2024-02-03", ["phq9"]),
    ("authored=ge2024-02-06", ["promis_gh", "nps", "cssrs_screen", "psfs"]),
    ("authored=gt2024-02-06", ["nps", "cssrs_screen", "psfs"]),
    ("authored=lt2024-02-02&authored=ge2024-01-01", ["startback"]),
])
def test_it_searches_questionnaire_responses(api, patient, all_responses, query, instruments):
    bundle = fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={patient.pk}&{query}"))
    urls = [r["questionnaire"].rsplit("/", 1)[1].replace("-", "_") for r in entries(bundle)]
    assert urls == instruments


def test_it_accepts_patient_references_in_several_spellings(api, patient, other_patient, phq9):
    for ref in (str(patient.pk), f"Patient/{patient.pk}",
                f"http://testserver/fhir/Patient/{patient.pk}"):
        assert fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={ref}"))["total"] == 1
    assert fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={other_patient.pk}"))[
        "total"] == 0
    fhir_json(api.get("/fhir/QuestionnaireResponse?patient=Group/1"), 400)


# --- Observation -----------------------------------------------------------------------------

def test_it_makes_one_observation_per_score(api, patient, all_responses):
    bundle = fhir_json(api.get(f"/fhir/Observation?patient={patient.pk}&_count=100"))
    ids = [o["id"] for o in entries(bundle)]
    by_instrument = {r.instrument: r.pk for r in all_responses}
    assert f"{by_instrument['startback']}-psychosocial" in ids
    assert f"{by_instrument['promis29']}-physical-function" in ids
    assert f"{by_instrument['promis29']}-pain-intensity" in ids
    assert f"{by_instrument['promis_gh']}-gmh" in ids
    assert f"{by_instrument['cssrs_screen']}-ideation-max" in ids
    assert f"{by_instrument['psfs']}-score" in ids
    # STarT Back 2, PEG 1, PHQ-9 1, GAD-7 1, PROMIS-29 7 domains + intensity, GH 2, NPS 1,
    # C-SSRS 1 (ideation_max), PSFS 1 (mean)
    assert bundle["total"] == len(ids) == 18
    assert all(o["derivedFrom"][0]["reference"].startswith("QuestionnaireResponse/")
               for o in entries(bundle))


def test_it_codes_the_phq9_total_with_loinc_and_its_severity(api, patient, phq9):
    obs = fhir_json(api.get(f"/fhir/Observation/{phq9.pk}-total"))
    assert obs["code"]["coding"][0] == {"system": "http://loinc.org", "code": "44261-6",
                                        "display": "Patient health questionnaire 9 item total score"}
    assert obs["code"]["coding"][1]["code"] == "phq9.total"
    assert obs["valueInteger"] == 11
    assert obs["interpretation"][0]["coding"][0]["code"] == "moderate"
    assert obs["interpretation"][0]["text"] == "Moderate"
    assert obs["effectiveDateTime"].startswith("2024-03-01T10:00:00")
    assert obs["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{phq9.pk}"}]
    assert obs["category"][0]["coding"][0]["code"] == "survey"


def test_it_reports_promis_t_scores_as_quantities(api, patient, all_responses):
    promis = next(r for r in all_responses if r.instrument == "promis29")
    obs = fhir_json(api.get(f"/fhir/Observation/{promis.pk}-pain-interference"))
    assert obs["code"]["coding"][0]["code"] == "71961-7"
    expected = promis.scores["pain_interference"]
    assert obs["valueQuantity"]["value"] == pytest.approx(expected["t_score"])
    assert obs["valueQuantity"]["code"] == "{T-score}"
    components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert components["promis29.pain_interference.raw"]["valueInteger"] == expected["raw"]


def test_it_uses_the_local_code_where_loinc_has_none(api, patient, all_responses):
    startback = next(r for r in all_responses if r.instrument == "startback")
    obs = fhir_json(api.get(f"/fhir/Observation/{startback.pk}-psychosocial"))
    assert obs["code"]["coding"] == [{"system": "https://ipm.example/fhir/CodeSystem/score",
                                      "code": "startback.psychosocial",
                                      "display": obs["code"]["coding"][0]["display"]}]
    total = fhir_json(api.get(f"/fhir/Observation/{startback.pk}-total"))
    assert total["interpretation"][0]["coding"][0]["code"] == startback.scores["risk_group"]


def test_it_reports_the_peg_mean_as_a_decimal_quantity(api, patient, clinician):
    peg = response_create(patient=patient, instrument="peg", actor=clinician,
                          answers={"q1": 7, "q2": 6, "q3": 6})
    obs = fhir_json(api.get(f"/fhir/Observation/{peg.pk}-score"))
    assert obs["code"]["coding"][0]["code"] == "91147-9"
    assert obs["valueQuantity"]["value"] == pytest.approx(6.33)


@pytest.mark.parametrize(("code", "found"), [
    ("http://loinc.org|44261-6", ["phq9.total"]),
    ("44261-6", ["phq9.total"]),
    ("phq9.total", ["phq9.total"]),
    ("https://ipm.example/fhir/CodeSystem/score|startback.psychosocial",
     ["startback.psychosocial"]),
    ("44261-6,70274-6", ["phq9.total", "gad7.total"]),
    ("http://loinc.org|", ["startback.total", "peg.score", "phq9.total", "gad7.total"]),
    ("http://snomed.info/sct|44261-6", []),
    ("99999-9", []),
])
def test_it_searches_observations_by_code(api, patient, all_responses, code, found):
    bundle = fhir_json(api.get(f"/fhir/Observation?patient={patient.pk}&code={code}"))
    local = [next(c["code"] for c in o["code"]["coding"] if "ipm.example" in c["system"])
             for o in entries(bundle)]
    if code == "http://loinc.org|":  # every LOINC-coded score
        assert local[:4] == found and "nps.score" not in local
        assert bundle["total"] == 4 + 6 + 2
    else:
        assert local == found


@pytest.mark.parametrize(("date", "days"), [
    ("2024-03", [1, 8, 15]),
    ("2024-02", []),
    ("eq2024-03-01", [1]),
    ("ge2024-03-08", [8, 15]),
    ("gt2024-03-08", [15]),
    ("le2024-03-08", [1, 8]),
    ("lt2024-03-08", [1]),
    ("ne2024-03-08", [1, 15]),
    ("ge2024-03-08T10:00:00Z", [15]),  # 10:00 London in March is 10:00Z; answered at 09:00
    ("lt2024-03-08T09:00:01%2B00:00", [1, 8]),
])
def test_it_searches_observations_by_date(api, patient, clinician, date, days):
    for day in (1, 8, 15):
        response_create(patient=patient, instrument="gad7", actor=clinician,
                        answers=answers(instrument("gad7")),
                        answered_at=at(2024, 3, day, 9, 0))
    bundle = fhir_json(api.get(f"/fhir/Observation?patient={patient.pk}&date={date}"))
    assert [int(o["effectiveDateTime"][8:10]) for o in entries(bundle)] == days


def test_it_needs_a_patient_to_search_observations(api):
    outcome = fhir_json(api.get("/fhir/Observation?code=44261-6"), 400)
    assert "patient" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("ident", ["abc", "999999-total", "1-nonsense", "1-severity"])
def test_it_answers_404_for_unknown_observations(api, phq9, ident):
    outcome = fhir_json(api.get(f"/fhir/Observation/{ident}"), 404)
    assert outcome["issue"][0]["code"] == "not-found"


# --- ServiceRequest, Appointment, Flag -------------------------------------------------------

@pytest.mark.parametrize(("status", "fhir_status"), [
    ("new", "active"), ("triaged", "active"), ("scheduled", "active"),
    ("in_treatment", "active"), ("discharged", "completed"), ("declined", "revoked"),
    ("cancelled", "revoked"),
])
def test_it_maps_referral_states_to_service_request_status(api, referral, status, fhir_status):
    type(referral).objects.filter(pk=referral.pk).update(status=status)
    data = fhir_json(api.get(f"/fhir/ServiceRequest/{referral.pk}"))
    assert data["status"] == fhir_status
    assert data["extension"][0]["valueCode"] == status
    bundle = fhir_json(api.get(f"/fhir/ServiceRequest?patient={referral.patient_id}"
                               f"&status={fhir_status}"))
    assert bundle["total"] == 1


def test_it_serves_a_referral_as_a_service_request(api, referral):
    data = fhir_json(api.get(f"/fhir/ServiceRequest/{referral.pk}"))
    assert (data["intent"], data["priority"]) == ("order", "urgent")
    assert data["code"]["coding"][0]["code"] == "physio"
    assert data["subject"]["reference"] == f"Patient/{referral.patient_id}"
    assert data["reasonCode"][0]["text"] == "Low back pain, 6 months"
    assert data["authoredOn"].startswith("2024-03-02T09:30:00")


def test_it_serves_group_sessions_as_appointments(api, patient, other_patient, group, clinician,
                                                  coordinator):
    bundle = fhir_json(api.get(f"/fhir/Appointment?patient={patient.pk}"))
    appointments = entries(bundle)
    assert [a["status"] for a in appointments] == ["fulfilled", "cancelled"]
    first = appointments[0]
    assert first["description"] == "Living well with pain"
    assert first["minutesDuration"] == 90
    actors = [p["actor"].get("reference") for p in first["participant"]]
    assert f"Patient/{patient.pk}" in actors and f"Patient/{other_patient.pk}" in actors
    performers = {p["type"][0]["coding"][0]["code"]: p["actor"]["display"]
                  for p in first["participant"] if "type" in p}
    assert performers == {"PPRF": "Casey", "SPRF": "Corey"}
    dated = fhir_json(api.get(f"/fhir/Appointment?patient={patient.pk}&date=ge2024-04-05"))
    assert [a["id"] for a in entries(dated)] == [str(group.sessions_made[1].pk)]


def test_it_lists_no_appointments_for_a_patient_not_enrolled(api, program, group):
    loner = make_patient(program, mrn="MRN-9", given="Cy", family="Cole")
    assert fhir_json(api.get(f"/fhir/Appointment?patient={loner.pk}"))["total"] == 0


def test_it_serves_safety_alerts_as_flags(api, patient, phq9, clinician):
    open_alert = SafetyAlert.objects.create(patient=patient, response=phq9, assigned_to=clinician)
    second = response_create(patient=patient, instrument="phq9", actor=clinician,
                             answers=answers(instrument(
                                 "phq9"), 0))
    done = SafetyAlert.objects.create(patient=patient, response=second, status="acknowledged",
                                      acknowledged_at=at(2024, 3, 3, 12, 0), action="other",
                                      assigned_to=clinician)
    bundle = fhir_json(api.get(f"/fhir/Flag?patient={patient.pk}"))
    statuses = {f["id"]: f["status"] for f in entries(bundle)}
    assert statuses == {str(open_alert.pk): "active", str(done.pk): "inactive"}
    active = fhir_json(api.get(f"/fhir/Flag?patient={patient.pk}&status=active"))
    assert [f["id"] for f in entries(active)] == [str(open_alert.pk)]
    flag = fhir_json(api.get(f"/fhir/Flag/{done.pk}"))
    assert flag["code"]["coding"][0]["code"] == "phq9_item9"
    assert flag["period"]["end"].startswith("2024-03-03T12:00:00")


# --- paging ----------------------------------------------------------------------------------

def test_it_pages_with_count_and_offset(api, patient, all_responses):
    url = f"/fhir/Observation?patient={patient.pk}&_count=5"
    seen = []
    page = fhir_json(api.get(url))
    assert link(page, "previous") is None
    while True:
        assert page["total"] == 18  # one Observation per headline score (see above)
        seen += [o["id"] for o in entries(page)]
        nxt = link(page, "next")
        if nxt is None:
            break
        page = fhir_json(api.get(nxt))
        assert link(page, "previous")
    assert len(seen) == len(set(seen)) == 18
    last = fhir_json(api.get(f"{url}&_offset=15"))
    assert link(last, "previous").endswith("_count=5&_offset=10")
    assert link(last, "self").endswith("_offset=15")


def test_it_answers_count_zero_with_the_total_only(api, patient, all_responses):
    bundle = fhir_json(api.get(f"/fhir/QuestionnaireResponse?patient={patient.pk}&_count=0"))
    assert bundle["total"] == len(CODES) and "entry" not in bundle


def test_it_caps_the_page_size(api, patient, all_responses):
    bundle = fhir_json(api.get(f"/fhir/Observation?patient={patient.pk}&_count=5000"))
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert len(matches) == 18
    assert link(bundle, "next") is None
    # The cut is said, not silent: a warning entry (search mode "outcome").
    (warning,) = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert warning["resource"]["issue"][0]["severity"] == "warning"
    assert "5000" in warning["resource"]["issue"][0]["diagnostics"]


@pytest.mark.parametrize("make_url", [
    lambda p: "/fhir/Patient?_count=PAGE",
    lambda p: f"/fhir/QuestionnaireResponse?patient={p.pk}&_count=PAGE",
    lambda p: f"/fhir/Observation?patient={p.pk}&_count=PAGE",
    lambda p: "/fhir/ServiceRequest?_count=PAGE",
    lambda p: f"/fhir/Appointment?patient={p.pk}&_count=PAGE",
    lambda p: "/fhir/Flag?_count=PAGE",
])
def test_it_reads_a_page_in_constant_queries(api, program, clinician, make_url):
    from referrals.models import Referral, Service
    from visits.models import Enrolment, GroupSeries, GroupSession

    service = Service.objects.get(code="group_programme")
    people = [make_patient(program, mrn=f"M{n}", given=f"P{n}", family="Zed") for n in range(8)]
    for n, person in enumerate(people):
        response = response_create(patient=person, instrument="phq9", actor=clinician,
                                   answers=answers(instrument("phq9")))
        Referral.objects.create(patient=person, service=service, reason="x",
                                referred_by=clinician)
        series = GroupSeries.objects.create(name=f"S{n}", service=service, capacity=9,
                                            lead_clinician=clinician)
        GroupSession.objects.create(series=series, starts_at=at(2024, 5, 1 + n, 10, 0))
        for other in people:
            Enrolment.objects.create(series=series, patient=other, status="enrolled")
        assert response.safety_alert  # PHQ-9 item 9 answered > 0
    person = people[0]
    for code in CODES:  # many scores for the Observation page
        response_create(patient=person, instrument=code, actor=clinician,
                        answers=answers(instrument(code), 0))
    counts = []
    for size in (2, 8):
        with CaptureQueriesContext(connection) as ctx:
            fhir_json(api.get(make_url(person).replace("PAGE", str(size))))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- errors and formats ----------------------------------------------------------------------

@pytest.mark.parametrize(("url", "code"), [
    ("/fhir/Patient?colour=blue", "not-supported"),
    ("/fhir/Patient?name:exact=Alice", "not-supported"),
    ("/fhir/Patient?_count=-1", "invalid"),
    ("/fhir/Patient?_offset=x", "invalid"),
    ("/fhir/Patient?_count=1&_count=2", "invalid"),
    ("/fhir/Patient?birthdate=1970-13-01", "invalid"),
    ("/fhir/Patient?birthdate=yesterday", "invalid"),
    ("/fhir/Patient?birthdate=sa1970", "not-supported"),
    ("/fhir/Flag?patient=Patient/a%20b", "invalid"),
    ("/fhir/Patient?identifier=%00", "invalid"),  # PostgreSQL text cannot hold NUL
])
def test_it_refuses_bad_search_parameters_with_400(api, url, code):
    outcome = fhir_json(api.get(url), 400)
    assert outcome["issue"][0]["code"] == code
    assert outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("url", ["/fhir/Patient/999999", "/fhir/Patient/abc",
                                 "/fhir/QuestionnaireResponse/999999", "/fhir/Flag/1",
                                 "/fhir/ServiceRequest/1", "/fhir/Appointment/1",
                                 "/fhir/Questionnaire/sf36", "/fhir/Practitioner",
                                 "/fhir/Patient/1/_history"])
def test_it_answers_404_with_an_operation_outcome(api, url):
    outcome = fhir_json(api.get(url), 404)
    assert outcome["issue"][0]["code"] == "not-found"


def test_it_refuses_writes_with_405(api, patient):
    r = api.post("/fhir/Patient", {"resourceType": "Patient"}, format="json")
    assert fhir_json(r, 405)["issue"][0]["code"] == "not-supported"
    fhir_json(api.delete(f"/fhir/Patient/{patient.pk}"), 405)


def test_it_answers_plain_json_to_clients_that_ask_for_it(api, patient):
    r = api.get(f"/fhir/Patient/{patient.pk}", HTTP_ACCEPT="application/json")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    assert r.json()["resourceType"] == "Patient"
    fhir_json(api.get(f"/fhir/Patient/{patient.pk}",
                      HTTP_ACCEPT="application/fhir+json; fhirVersion=4.0"))
    fhir_json(api.get(f"/fhir/Patient/{patient.pk}?_format=json", HTTP_ACCEPT="text/xml"))
    fhir_json(api.get(f"/fhir/Patient/{patient.pk}", HTTP_ACCEPT="application/fhir+xml"), 406)
