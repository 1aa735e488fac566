import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from ipm.models import AuditEvent
from outcomes import services
from outcomes.models import MedicationReview, QuestionnaireLink, QuestionnaireResponse, SafetyAlert
from reminders.models import Reminder

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return "/q/" + url.split("/q/", 1)[1]


@pytest.fixture
def link(patient):
    link, url = services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"])
    link.path = path_of(url)
    return link


def form(code: str, values: dict) -> dict:
    return {f"{code}-{key}": str(value) for key, value in values.items()}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Patient questionnaire link -------------------------------------------------------------

def test_it_shows_only_the_questions(link, patient):
    # Changed on purpose (issue 19): no first name and no programme name, so a misdirected
    # link discloses nothing (docs/product.md §3.4).
    r = Client().get(link.path)
    assert r.status_code == 200
    html = r.content.decode()
    assert patient.given_name not in html
    assert patient.family_name not in html and patient.mrn not in html
    assert "programme" not in html.lower() and patient.program.name not in html
    assert "Step 1 of 2" in html and "What number best describes your pain" in html
    assert r["Cache-Control"].startswith("no-store")
    assert r["Referrer-Policy"] == "no-referrer"
    assert AuditEvent.objects.filter(action="read", object_type="outcomes.questionnairelink",
                                     patient_id=patient.pk).exists()


def test_it_walks_through_the_steps_and_saves_everything_at_the_end(link, patient, answers):
    c = Client()
    r = c.post(link.path, {**form("peg", {"q1": 5, "q2": 6}), "step": 0, "action": "next"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "This item is required." in html and "Please check 1 answer" in html
    assert 'aria-invalid="true"' in html
    r = c.post(link.path, {**form("peg", answers.peg_bad), "step": 0, "action": "next"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Step 2 of 2" in html and "Little interest or pleasure" in html
    assert 'name="peg-q3" value="8"' in html  # the first step rides along as hidden fields
    back = c.post(link.path, {**form("peg", answers.peg_bad), "step": 1, "action": "back"})
    assert "Step 1 of 2" in back.content.decode() and "checked" in back.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    r = c.post(link.path, {**form("peg", answers.peg_bad), **form("phq9", answers.phq9()),
                           "step": 1, "action": "submit"})
    assert r.status_code == 201
    assert "Thank you" in r.content.decode() and "Robin" not in r.content.decode()
    assert 'data-testid="crisis-message"' not in r.content.decode()  # no positive item 9
    assert list(QuestionnaireResponse.objects.values_list("instrument", "context")) == [
        ("peg", "patient_link"), ("phq9", "patient_link")]
    again = Client().get(link.path)
    assert again.status_code == 410 and "already been answered" in again.content.decode()


def test_it_accepts_json_and_answers_in_json(link, answers):
    c = Client()
    r = c.post(link.path, {"answers": {"peg": answers.peg_bad, "phq9": {"q1": 9}}},
               content_type="application/json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert set(errors) == {"phq9"}
    assert errors["phq9"]["q1"] == ["Select a valid choice. Allowed values: 0, 1, 2, 3."]
    assert errors["phq9"]["q2"] == ["This item is required."]
    r = c.post(link.path, {"answers": {"peg": answers.peg_bad, "phq9": answers.phq9(1)}},
               content_type="application/json")
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "submitted"
    assert sorted(body["responses"]) == sorted(QuestionnaireResponse.objects.values_list("pk", flat=True))
    assert SafetyAlert.objects.count() == 1
    r = c.post(link.path, {"answers": {"peg": answers.peg_bad, "phq9": answers.phq9(1)}},
               content_type="application/json")
    assert r.status_code == 410 and r.json()["message"]
    assert QuestionnaireResponse.objects.count() == 2


def test_it_serves_the_questions_as_json_when_asked(link):
    r = Client().get(link.path, HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    body = r.json()
    assert "first_name" not in body and "Robin" not in r.content.decode()  # issue 19
    assert [i["code"] for i in body["instruments"]] == ["peg", "phq9"]


def test_it_says_plainly_when_a_link_has_expired(link, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=14, minutes=1))
    r = Client().get(link.path)
    assert r.status_code == 410
    assert "expired" in r.content.decode()
    r = Client().get(link.path, HTTP_ACCEPT="application/json")
    assert r.status_code == 410 and "expired" in r.json()["message"]


def test_it_gives_404_for_forged_or_truncated_tokens(link):
    token = link.path.split("/")[2]
    for bad in (token[:-1], token[:20], token + "x", "A" * len(token), "x", token.swapcase()):
        r = Client().get(f"/q/{bad}/")
        assert r.status_code == 404, bad
        assert "not valid" in r.content.decode()
        assert Client().post(f"/q/{bad}/", {"answers": {}},
                             content_type="application/json").status_code == 404


def test_it_rate_limits_link_requests_per_address(link, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "token": "1000/min", "questionnaire_link": "3/min"}}
    from django.core.cache import cache

    cache.clear()
    codes = [Client(REMOTE_ADDR="10.0.0.9").get(link.path).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = Client(REMOTE_ADDR="10.0.0.9").get("/q/forged/")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert Client(REMOTE_ADDR="10.0.0.10").get(link.path).status_code == 200
    cache.clear()


# --- Clinician entry -----------------------------------------------------------------------

def test_it_lets_a_clinician_enter_a_questionnaire_with_errors_next_to_items(patient, clinician,
                                                                           answers):
    c = logged_in(clinician)
    url = f"/patients/{patient.pk}/responses/new/"
    chooser = c.get(url).content.decode()
    assert "?instrument=phq9" in chooser and "?instrument=promis29" in chooser
    r = c.get(url + "?instrument=phq9")
    assert r.status_code == 200 and "Little interest" in r.content.decode()
    r = c.post(url + "?instrument=phq9", form("phq9", {"q1": 1}))
    assert r.status_code == 400
    assert r.content.decode().count("This item is required.") == 8
    assert not QuestionnaireResponse.objects.exists()
    r = c.post(url + "?instrument=phq9", form("phq9", answers.phq9(item9=0)))
    assert r.status_code == 302 and r["Location"] == f"/patients/{patient.pk}/trends/"
    r = c.post(url + "?instrument=phq9", form("phq9", answers.phq9(item9=1)))
    # Issue 19: a positive item 9 shows the result page with the crisis message to give.
    assert r.status_code == 201 and 'data-testid="crisis-message"' in r.content.decode()
    response = QuestionnaireResponse.objects.latest("pk")
    assert (response.context, response.entered_by) == ("clinician", clinician)
    assert SafetyAlert.objects.filter(response=response).exists()


def test_it_asks_the_c_ssrs_follow_up_items_only_when_q2_is_yes(patient, clinician):
    c = logged_in(clinician)
    url = f"/patients/{patient.pk}/responses/new/?instrument=cssrs_screen"
    html = c.get(url).content.decode()
    # The one partial: the script hides q3-q5 until q2 = Yes; without it the hint says so.
    assert 'data-asked-when-name="cssrs_screen-q2" data-asked-when-value="1"' in html
    assert "Answer only if you answered “Yes” to question 2." in html
    assert "outcomes/questionnaire.js" in html
    r = c.post(url, form("cssrs_screen", {"q1": 1, "q2": 1, "q3": 1, "q6": 0}))
    assert r.status_code == 400  # re-asked: q4 and q5 are required once q2 is Yes
    assert r.content.decode().count("This item is required.") == 2
    assert 'id="f-cssrs_screen-q4-error"' in r.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    r = c.post(url, form("cssrs_screen", {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 0}))
    assert r.status_code == 302
    assert QuestionnaireResponse.objects.get().scores["risk_level"] == "moderate"


def test_it_ignores_a_form_answer_the_skip_logic_does_not_ask_for(patient, clinician):
    # Without JavaScript a ticked radio cannot be cleared: q2 changed to No after q3 was ticked.
    r = logged_in(clinician).post(
        f"/patients/{patient.pk}/responses/new/?instrument=cssrs_screen",
        form("cssrs_screen", {"q1": 1, "q2": 0, "q3": 1, "q6": 0, "q6_recent": 1}))
    assert r.status_code == 302
    response = QuestionnaireResponse.objects.get()
    assert response.answers == {"q1": 1, "q2": 0, "q6": 0}
    assert response.scores == {"risk_level": "low", "ideation_max": 1, "behavior_recent": False}


def test_it_takes_a_psfs_on_the_patient_link(patient):
    _, url = services.questionnaire_link_create(patient=patient, instruments=["psfs"])
    html = Client().get(path_of(url)).content.decode()
    assert "Today, are there any activities" in html and "(optional)" in html
    r = Client().post(path_of(url), {**form("psfs", {"a1": 2, "a3": 5}), "action": "submit"})
    assert r.status_code == 201
    assert QuestionnaireResponse.objects.get().scores == {
        "score": 3.5, "activities": {"a1": 2, "a3": 5}}


def test_it_backdates_a_paper_questionnaire(patient, clinician, answers):
    day = timezone.localdate() - timedelta(days=3)
    r = logged_in(clinician).post(f"/patients/{patient.pk}/responses/new/?instrument=peg",
                                  {**form("peg", answers.peg_bad), "answered_on": day.isoformat()})
    assert r.status_code == 302
    assert timezone.localdate(QuestionnaireResponse.objects.get().answered_at) == day


# --- Medication review --------------------------------------------------------------------

def _lines(*rows):
    data = {"lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "12"}
    for i, row in enumerate(rows):
        data.update({f"lines-{i}-{k}": v for k, v in row.items()})
    return data


def test_it_records_a_medication_review_from_the_page(patient, clinician):
    c = logged_in(clinician)
    url = f"/patients/{patient.pk}/medications/new/"
    assert c.get(url).status_code == 200
    r = c.post(url, _lines({"drug": "morphine", "dose": "30", "doses_per_day": "2"},
                           {"drug": "oxycodone", "dose": "5", "doses_per_day": "4"}))
    assert r.status_code == 302
    review = MedicationReview.objects.get()
    assert review.total_mme == Decimal("90.0")
    patient.refresh_from_db()
    assert patient.current_mme == Decimal("90.0")
    trends = c.get(f"/patients/{patient.pk}/trends/").content.decode()
    assert "≥ 90" in trends


def test_it_shows_errors_on_the_medication_page(patient, clinician):
    c = logged_in(clinician)
    r = c.post(f"/patients/{patient.pk}/medications/new/", _lines({"dose": "30"}))
    assert r.status_code == 400 and "Choose the opioid." in r.content.decode()
    r = c.post(f"/patients/{patient.pk}/medications/new/", _lines())
    assert r.status_code == 400 and "total MME" in r.content.decode()
    r = c.post(f"/patients/{patient.pk}/medications/new/", {**_lines(), "total_mme": "0"})
    assert r.status_code == 302
    assert MedicationReview.objects.get().total_mme == 0


# --- Roles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/alerts/", "/worklist/", "/patients/{id}/trends/",
                                  "/patients/{id}/responses/new/?instrument=peg",
                                  "/patients/{id}/medications/new/"])
def test_it_keeps_admins_out_of_patient_pages(admin_user, patient, path):
    assert logged_in(admin_user).get(path.format(id=patient.pk)).status_code == 403


def test_it_sends_anonymous_visitors_to_login(patient):
    for path in ("/alerts/", "/worklist/", f"/patients/{patient.pk}/trends/"):
        r = Client().get(path)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_it_lets_only_clinicians_record_medication_reviews(coordinator, patient):
    assert logged_in(coordinator).get(f"/patients/{patient.pk}/medications/new/").status_code == 403
    assert logged_in(coordinator).get(f"/patients/{patient.pk}/trends/").status_code == 200


# --- Alerts page and home ---------------------------------------------------------------------

@pytest.fixture
def alert(patient, answers):
    return services.response_create(patient=patient, instrument="phq9",
                                    answers=answers.phq9(1)).alerts[0]


def test_it_keeps_open_alerts_on_the_home_page_until_acknowledged(alert, clinician, coordinator):
    c = logged_in(clinician)
    assert "Robin Hart" in c.get("/").content.decode()
    assert "Robin Hart" in logged_in(coordinator).get("/").content.decode()
    page = c.get("/alerts/").content.decode()
    assert "Robin Hart" in page and "escalates" in page
    r = c.post(f"/alerts/{alert.pk}/acknowledge/", {"note": ""})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "open"
    r = c.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "Called, safe.", "next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert "No open alerts." in c.get("/").content.decode()
    assert "Called, safe." in c.get("/alerts/?status=acknowledged").content.decode()


def test_it_lets_coordinators_see_but_not_acknowledge_alerts(alert, coordinator):
    c = logged_in(coordinator)
    assert "A clinician must acknowledge" in c.get("/alerts/").content.decode()
    assert c.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "x"}).status_code == 403


def test_it_lists_the_alerts_page_in_constant_queries(make_patient, answers, clinician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = logged_in(clinician)
    counts = []
    for size in (2, 6):
        for _ in range(size):
            services.response_create(patient=make_patient(), instrument="phq9",
                                     answers=answers.phq9(1))
        with CaptureQueriesContext(connection) as queries:
            r = c.get("/alerts/")
        counts.append(len(queries))
    assert r.content.decode().count('id="ack-note-') == 8
    assert counts[0] == counts[1] <= 14


# --- One-click link from the worklist -----------------------------------------------------

def test_it_sends_a_link_in_one_click(patient, coordinator, settings):
    settings.SITE_URL = "https://ipm.example.org"
    c = logged_in(coordinator)
    r = c.post(f"/patients/{patient.pk}/questionnaire-links/new/",
               {"instruments": ["peg", "gad7"], "next": "/worklist/"}, follow=True)
    assert r.redirect_chain[-1][0] == "/worklist/"
    link = QuestionnaireLink.objects.get()
    assert link.instruments == ["peg", "gad7"] and link.created_by == coordinator
    assert "http://testserver/q/" in r.content.decode()  # shown once to the sender
    assert Reminder.objects.filter(target_id=link.pk, kind="questionnaire_due").count() == 3
    assert c.get(f"/patients/{patient.pk}/questionnaire-links/new/").status_code == 405


def test_it_shows_the_new_link_once_as_a_field_to_copy(patient, coordinator):
    c = logged_in(coordinator)
    r = c.post(f"/patients/{patient.pk}/questionnaire-links/new/",
               {"instruments": ["peg", "gad7"], "next": "/worklist/"}, follow=True)
    html = r.content.decode()
    assert "Questionnaire link created for Robin Hart (PEG, GAD-7)" in html
    field = re.search(r'<input class="form-control font-monospace" id="(copy-link-\d+)" '
                      r'type="text" value="(http://testserver/q/[^"]+)" readonly>', html)
    assert field, html
    assert f'data-copy="{field.group(1)}">Copy link</button>' in html
    assert "/static/ipm/copy.js" in html and "<script>" not in html  # CSP: no inline script
    assert "/q/" not in c.get("/worklist/").content.decode().split("<main")[1]  # once only


def test_it_shows_one_alert_with_its_acknowledge_form(alert, clinician, admin_user):
    c = logged_in(clinician)
    html = c.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Robin Hart" in html and f'action="/alerts/{alert.pk}/acknowledge/"' in html
    r = c.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "Crisis team called."})
    assert r["Location"] == f"/alerts/{alert.pk}/"
    assert "Crisis team called." in c.get(f"/alerts/{alert.pk}/").content.decode()
    assert logged_in(admin_user).get(f"/alerts/{alert.pk}/").status_code == 403
