import json
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipm.models import AuditEvent
from outcomes import instruments
from outcomes.models import QuestionnaireLink, QuestionnaireResponse, SafetyAlert
from reminders.models import Reminder

pytestmark = pytest.mark.django_db

RAW = json.load(open("outcomes/instruments/data/instruments.json", encoding="utf-8"))


# --- Instruments ---------------------------------------------------------------------------

def test_it_lists_every_instrument_with_items_and_options_as_in_the_data_file(admin_api):
    r = admin_api.get("/api/instruments/")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(instruments.CODES)
    assert set(body) == {"count", "next", "previous", "results"}
    assert [i["code"] for i in body["results"]] == list(instruments.CODES)
    for item in body["results"]:
        raw = RAW[item["code"]]
        assert (item["name"], item["version"]) == (raw["name"], raw["version"])
        assert item["score_keys"] == raw["score_keys"]
        assert [i["key"] for i in item["items"]] == [i["key"] for i in raw["items"]]
        for got, want in zip(item["items"], raw["items"], strict=True):
            assert got["text"] == want["text"] and got["required"] == want["required"]
            assert got["options"] == [{"value": o["value"], "label": o["label"]}
                                      for o in want["options"]]
        assert "loinc" in item


def test_it_shows_one_instrument_or_404(coordinator_api):
    r = coordinator_api.get("/api/instruments/phq9/")
    assert r.status_code == 200 and len(r.json()["items"]) == 10
    r = coordinator_api.get("/api/instruments/nope/")
    assert r.status_code == 404 and r.json()["message"]


def test_it_refuses_instruments_to_a_user_without_a_role(nobody):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(nobody)
    assert client.get("/api/instruments/").status_code == 403


# --- Responses -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["peg", "phq9", "gad7", "nps"])
def test_it_returns_the_same_scores_as_the_pure_functions(api, patient, code, answers):
    given_answers = {"peg": answers.peg_bad, "phq9": answers.phq9(1, 2), "gad7": answers.gad7(2),
                     "nps": answers.nps}[code]
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": code,
                                     "answers": given_answers}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    scored = instruments.score_response(code, given_answers)
    assert body["scores"] == json.loads(json.dumps(scored.scores))
    assert body["answers"] == scored.answers_clean
    assert body["instrument_version"] == instruments.get(code).version
    assert body["patient"] == patient.pk and body["instrument"] == code
    assert set(body) == {"id", "patient", "instrument", "instrument_version", "answered_at",
                         "answers", "scores", "alerts", "crisis_message"}  # issue 19


def test_it_returns_the_alert_opened_by_the_response(api, patient, answers):
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": "phq9",
                                     "answers": answers.phq9(item9=1)}, format="json")
    alert = SafetyAlert.objects.get()
    assert r.json()["alerts"] == [{"id": alert.pk, "kind": "phq9_item9", "status": "open"}]


def test_it_reports_per_item_errors_and_saves_nothing(api, patient):
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": "phq9",
                                     "answers": {"q1": 1, "q2": 4, "q11": 0}}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["message"]
    errors = body["errors"]["answers"]
    assert errors["q2"] == ["Select a valid choice. Allowed values: 0, 1, 2, 3."]
    assert errors["q3"] == ["This item is required."]
    assert errors["q11"] == ["Unknown item."]
    assert "q1" not in errors and "q10" not in errors  # q10 is optional
    assert not QuestionnaireResponse.objects.exists()


def test_it_lists_the_c_ssrs_screen_and_psfs_with_their_skip_logic(api):
    body = api.get("/api/instruments/").json()
    by_code = {i["code"]: i for i in body["results"]}
    items = {i["key"]: i for i in by_code["cssrs_screen"]["items"]}
    assert items["q4"]["asked_when"] == {"item": "q2", "equals": 1}
    assert items["q6_recent"]["asked_when"] == {"item": "q6", "equals": 1}
    assert items["q2"]["asked_when"] is None
    assert [i["key"] for i in by_code["psfs"]["items"]] == ["a1", "a2", "a3", "a4", "a5"]
    assert [i["required"] for i in by_code["psfs"]["items"]] == [True] + [False] * 4
    assert by_code["psfs"]["direction"] == "higher_is_better"


@pytest.mark.parametrize(("code", "answers", "scores"), [
    ("cssrs_screen", {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 1, "q6_recent": 0},
     {"risk_level": "moderate", "ideation_max": 3, "behavior_recent": False}),
    ("cssrs_screen", {"q1": 0, "q2": 0, "q6": 0},
     {"risk_level": "none", "ideation_max": 0, "behavior_recent": False}),
    ("psfs", {"a1": 3, "a2": 4, "a3": 4},
     {"score": 3.67, "activities": {"a1": 3, "a2": 4, "a3": 4}}),
])
def test_it_records_the_c_ssrs_screen_and_psfs(api, patient, code, answers, scores):
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": code,
                                     "answers": answers}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["scores"] == scores
    response = QuestionnaireResponse.objects.get()
    assert float(response.primary_score) == float(
        scores["ideation_max"] if code == "cssrs_screen" else scores["score"])


@pytest.mark.parametrize(("answers", "item", "message"), [
    ({"q1": 1, "q2": 0, "q3": 1, "q6": 0}, "q3",
     "Leave this unanswered: it is asked only when q2 is Yes (1)."),
    ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q6": 0}, "q5", "This item is required."),
    ({"q1": 0, "q2": 0, "q6": 1}, "q6_recent", "This item is required."),
    ({"q1": 0, "q2": 0, "q6": 0, "q6_recent": 1}, "q6_recent",
     "Leave this unanswered: it is asked only when q6 is Yes (1)."),
])
def test_it_refuses_a_c_ssrs_screen_against_its_skip_logic(api, patient, answers, item, message):
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": "cssrs_screen",
                                     "answers": answers}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"]["answers"] == {item: [message]}
    assert not QuestionnaireResponse.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"patient": 999999, "instrument": "peg", "answers": {"q1": 1, "q2": 1, "q3": 1}}, "patient"),
    ({"patient": None, "instrument": "nope", "answers": {}}, "instrument"),
    ({"instrument": "peg", "answers": {}}, "patient"),
])
def test_it_names_the_unknown_patient_or_instrument(api, patient, body, field):
    if body.get("patient") is None and "patient" in body:
        body["patient"] = patient.pk
    r = api.post("/api/responses/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert not QuestionnaireResponse.objects.exists()


def test_it_refuses_an_answer_time_in_the_future(api, patient, answers):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": "peg",
                                     "answers": answers.peg_bad, "answered_at": later},
                 format="json")
    assert r.status_code == 400 and "answered_at" in r.json()["errors"]


_values = st.one_of(st.integers(-5, 40), st.text(max_size=3), st.none(), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False), st.lists(st.integers(), max_size=2))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.sampled_from(["peg", "phq9", "gad7"]),
       answers=st.dictionaries(st.sampled_from(["q1", "q2", "q3", "q4", "q9", "x"]), _values))
def test_it_never_saves_a_row_for_an_invalid_set(api, patient, code, answers):
    if not instruments.validate(code, answers):
        return  # a valid set; covered elsewhere
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": code,
                                     "answers": answers}, format="json")
    assert r.status_code == 400
    assert set(r.json()["errors"]["answers"]) == set(instruments.validate(code, answers))
    assert QuestionnaireResponse.objects.count() == 0
    assert SafetyAlert.objects.count() == 0


def test_it_keeps_admins_away_from_patient_level_apis(admin_api, patient, answers):
    r = admin_api.post("/api/responses/", {"patient": patient.pk, "instrument": "peg",
                                           "answers": answers.peg_bad}, format="json")
    assert r.status_code == 403
    assert admin_api.get(f"/api/patients/{patient.pk}/responses/").status_code == 403
    assert admin_api.get("/api/alerts/").status_code == 403
    assert admin_api.post(f"/api/patients/{patient.pk}/questionnaire-links/",
                          {"instruments": ["peg"]}, format="json").status_code == 403


# --- Time series ---------------------------------------------------------------------------

def _post(api, patient, code, answers, days_ago):
    when = (timezone.now() - timedelta(days=days_ago)).isoformat()
    r = api.post("/api/responses/", {"patient": patient.pk, "instrument": code,
                                     "answers": answers, "answered_at": when}, format="json")
    assert r.status_code == 201
    return r.json()


def test_it_gives_the_time_series_with_change_from_baseline(api, patient, answers):
    first = _post(api, patient, "peg", answers.peg_bad, 100)
    _post(api, patient, "phq9", answers.phq9(0, 2), 90)
    last = _post(api, patient, "peg", answers.peg_better, 10)
    r = api.get(f"/api/patients/{patient.pk}/responses/?instrument=peg")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    baseline, follow_up = body["results"]
    assert (baseline["id"], follow_up["id"]) == (first["id"], last["id"])
    assert baseline["change"] is None and baseline["is_baseline"] is True
    assert follow_up["change"] == instruments.compare("peg", first["scores"], last["scores"])
    assert follow_up["change"]["score"]["classification"] == "improved"
    assert set(follow_up) == {"id", "instrument", "answered_at", "scores", "change", "is_baseline"}
    everything = api.get(f"/api/patients/{patient.pk}/responses/").json()
    assert [row["instrument"] for row in everything["results"]] == ["peg", "phq9", "peg"]
    assert AuditEvent.objects.filter(action="list", patient_id=patient.pk).exists()


def test_it_answers_404_and_400_for_unknown_patients_and_instruments(api, patient):
    assert api.get("/api/patients/999999/responses/").status_code == 404
    r = api.get(f"/api/patients/{patient.pk}/responses/?instrument=nope")
    assert r.status_code == 400 and "instrument" in r.json()["errors"]


@pytest.mark.parametrize("size", [3, 12])
def test_it_lists_the_time_series_in_constant_queries(api, patient, answers, size,
                                                      django_assert_max_num_queries):
    for n in range(size):
        _post(api, patient, "peg", answers.peg_bad if n % 2 else answers.peg_same, 100 - n)
    with django_assert_max_num_queries(8):
        r = api.get(f"/api/patients/{patient.pk}/responses/?page_size=50")
    assert len(r.json()["results"]) == size


# --- Questionnaire links --------------------------------------------------------------------

def test_it_creates_a_questionnaire_link_with_an_absolute_url(coordinator_api, patient, settings):
    settings.SITE_URL = "https://ipm.example.org"
    r = coordinator_api.post(f"/api/patients/{patient.pk}/questionnaire-links/",
                             {"instruments": ["peg", "phq9"], "expires_in_days": 7},
                             format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert set(body) == {"id", "url", "expires_at", "instruments"}
    # On the host the client called (SITE_URL is only for links inside messages).
    assert body["url"].startswith("http://testserver/q/")
    assert body["instruments"] == ["peg", "phq9"]
    link = QuestionnaireLink.objects.get(pk=body["id"])
    assert link.expires_at - link.created_at == timedelta(days=7)
    assert Reminder.objects.filter(target_type="questionnaire_link", target_id=link.pk).count() == 2


@pytest.mark.parametrize("body", [{"instruments": []}, {"instruments": ["zzz"]},
                                  {"instruments": ["peg"], "expires_in_days": 0},
                                  {"instruments": ["peg"], "expires_in_days": 91}, {}])
def test_it_refuses_bad_link_requests(api, patient, body):
    r = api.post(f"/api/patients/{patient.pk}/questionnaire-links/", body, format="json")
    assert r.status_code == 400
    assert r.json()["errors"]
    assert not QuestionnaireLink.objects.exists()


def test_it_answers_404_for_a_link_to_an_unknown_patient(api):
    r = api.post("/api/patients/999999/questionnaire-links/", {"instruments": ["peg"]},
                 format="json")
    assert r.status_code == 404


# --- Alerts -------------------------------------------------------------------------------

@pytest.fixture
def open_alert(api, patient, answers):
    api.post("/api/responses/", {"patient": patient.pk, "instrument": "phq9",
                                 "answers": answers.phq9(item9=2)}, format="json")
    return SafetyAlert.objects.get()


def test_it_lists_open_alerts_to_clinicians_and_coordinators(api, coordinator_api, open_alert):
    for client in (api, coordinator_api):
        r = client.get("/api/alerts/?status=open")
        assert r.status_code == 200
        (row,) = r.json()["results"]
        assert set(row) >= {"id", "patient", "kind", "status", "opened_at", "acknowledged_by",
                            "acknowledged_at", "action_note", "escalated_at"}
        assert (row["id"], row["status"]) == (open_alert.pk, "open")
    assert api.get("/api/alerts/?status=acknowledged").json()["count"] == 0
    assert api.get("/api/alerts/?status=bogus").status_code == 400


def test_it_lets_a_clinician_acknowledge_once(api, coordinator_api, open_alert, clinician):
    url = f"/api/alerts/{open_alert.pk}/acknowledge/"
    assert coordinator_api.post(url, {"note": "seen"}, format="json").status_code == 403
    r = api.post(url, {}, format="json")
    assert r.status_code == 400 and "note" in r.json()["errors"]
    r = api.post(url, {"note": "Phoned the patient; GP informed."}, format="json")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["acknowledged_by"], body["action_note"]) == (
        "acknowledged", clinician.pk, "Phoned the patient; GP informed.")
    again = api.post(url, {"note": "twice"}, format="json")
    assert again.status_code == 409 and again.json()["message"]
    assert api.post("/api/alerts/999999/acknowledge/", {"note": "x"},
                    format="json").status_code == 404


@pytest.mark.parametrize("size", [2, 9])
def test_it_lists_alerts_in_constant_queries(api, make_patient, answers, size,
                                             django_assert_max_num_queries):
    for _ in range(size):
        p = make_patient()
        api.post("/api/responses/", {"patient": p.pk, "instrument": "phq9",
                                     "answers": answers.phq9(item9=1)}, format="json")
    with django_assert_max_num_queries(7):
        r = api.get("/api/alerts/?status=open&page_size=50")
    assert r.json()["count"] == size


def test_it_documents_the_outcomes_endpoints_in_the_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in ("/api/instruments/", "/api/instruments/{code}/", "/api/responses/",
                 "/api/patients/{id}/responses/", "/api/patients/{id}/questionnaire-links/",
                 "/api/alerts/", "/api/alerts/{id}/acknowledge/"):
        assert path in schema["paths"], path
