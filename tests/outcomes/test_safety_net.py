"""The safety net after a positive self-harm answer (docs/product.md §7, issue 19): who an
alert is assigned to, email and SMS, escalation to the lead then the deputy on the program's
calendar, the action taken, the C-SSRS risk and the crisis message the patient sees."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client

from ipm import roles
from outcomes import services, tasks
from outcomes.models import AlertAction, AlertEscalation, SafetyAlert
from patients.models import Site
from patients.program import default_crisis_message
from reminders import sms
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from team.models import StaffProfile
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def reachable(user, phone):
    user.email = f"{user.username}@clinic.example"
    user.save(update_fields=["email"])
    StaffProfile.objects.update_or_create(user=user, defaults={"phone": phone})
    return user


def open_alert(patient, answers, at=None, actor=None):
    if at is None:
        return services.response_create(patient=patient, instrument="phq9",
                                        answers=answers.phq9(2), actor=actor).alerts[0]
    with time_machine.travel(at, tick=False):
        return services.response_create(patient=patient, instrument="phq9",
                                        answers=answers.phq9(2), actor=actor).alerts[0]


@pytest.fixture
def deputy(program):
    user = make_user("dana", roles.CLINICIAN)
    program.deputy_lead = user
    program.save(update_fields=["deputy_lead"])
    return user


@pytest.fixture
def nine_to_five(program):
    day = ["09:00", "17:00"]
    program.working_hours = {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
                             "sat": None, "sun": None}
    program.holiday_country, program.holiday_region = "GB", "ENG"
    program.save(update_fields=["working_hours", "holiday_country", "holiday_region"])
    return program


# --- Who takes the alert ------------------------------------------------------------------

def test_it_assigns_the_clinician_then_a_clinician_care_manager_then_lead_then_deputy(
        make_patient, clinician, coordinator, program, answers):
    lead, deputy = make_user("lena", roles.CLINICIAN), make_user("dana", roles.CLINICIAN)
    program.clinical_lead, program.deputy_lead = lead, deputy
    program.save(update_fields=["clinical_lead", "deputy_lead"])
    manager = make_user("mo", roles.CLINICIAN)
    assert open_alert(make_patient(clinician=clinician, care_manager=manager),
                      answers).assigned_to == clinician
    assert open_alert(make_patient(care_manager=manager), answers).assigned_to == manager
    # A coordinator care manager does not take alerts: the lead does.
    assert open_alert(make_patient(care_manager=coordinator), answers).assigned_to == lead
    lead.is_active = False
    lead.save(update_fields=["is_active"])
    assert open_alert(make_patient(), answers).assigned_to == deputy


def test_without_leads_it_goes_to_the_sites_clinician_with_the_fewest_open_alerts(
        make_patient, program, answers):
    site = Site.objects.create(program=program, name="East", code="east")
    busy, free = make_user("bea", roles.CLINICIAN), make_user("fay", roles.CLINICIAN)
    elsewhere = make_user("eli", roles.CLINICIAN)  # at the first site only
    for user in (busy, free):
        user.sites.set([site])
    open_alert(make_patient(site=site, clinician=busy), answers)
    alert = open_alert(make_patient(site=site), answers)
    assert alert.assigned_to == free
    assert elsewhere != alert.assigned_to


def test_an_alert_without_an_assigned_person_is_refused_by_the_database(patient, answers):
    alert = open_alert(patient, answers)
    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyAlert.objects.filter(pk=alert.pk).update(assigned_to=None)


def test_readiness_says_when_an_alert_could_reach_no_one(program, admin_user):
    from team.readiness import readiness_count, readiness_problems

    Site.objects.create(program=program, name="East", code="east")  # nobody there
    assert "alerts_unassignable" in {p.code for p in readiness_problems(program)}
    before = readiness_count()
    program.clinical_lead = make_user("lena", roles.CLINICIAN)
    program.save(update_fields=["clinical_lead"])
    assert "alerts_unassignable" not in {p.code for p in readiness_problems(program)}
    assert readiness_count() < before


# --- Email and SMS ------------------------------------------------------------------------

def test_the_assigned_person_gets_an_email_and_an_sms(patient, clinician, answers):
    reachable(clinician, "+447700900111")
    sms.outbox.clear()
    alert = open_alert(patient, answers)
    dispatch_due()
    assert [m.to for m in mail.outbox] == [[clinician.email]]
    assert f"/alerts/{alert.pk}/" in mail.outbox[0].body
    assert [m["to"] for m in sms.outbox] == ["+447700900111"]
    # No clinical detail and no patient name in the SMS.
    assert patient.given_name not in sms.outbox[0]["body"] and "PHQ" not in sms.outbox[0]["body"]


def test_an_sms_to_someone_without_a_phone_is_recorded_as_not_sent(patient, clinician, answers):
    reachable(clinician, "")
    open_alert(patient, answers)
    dispatch_due()
    row = Reminder.objects.get(kind="safety_alert", channel="sms")
    assert (row.status, row.reason) == ("failed", "no_address")


# --- Escalation ----------------------------------------------------------------------------

def test_it_escalates_to_the_lead_then_the_deputy_on_working_hours_skipping_a_holiday(
        patient, answers, lead, deputy, nine_to_five):
    # Thursday 2 April 2026 15:00; Good Friday (3rd) and Easter Monday (6th) are holidays.
    alert = open_alert(patient, answers, at=london(2026, 4, 2, 15, 0))
    assert tasks.escalate_alerts(now=london(2026, 4, 6, 12, 0)) == 0  # Easter Monday
    assert tasks.escalate_alerts(now=london(2026, 4, 7, 10, 59)) == 0
    # 2 h on Thursday + 2 h on Tuesday: 11:00 on Tuesday 7 April.
    assert tasks.escalate_alerts(now=london(2026, 4, 7, 11, 0)) == 1
    assert tasks.escalate_alerts(now=london(2026, 4, 7, 14, 59)) == 0
    assert tasks.escalate_alerts(now=london(2026, 4, 7, 15, 0)) == 1  # four more working hours
    assert tasks.escalate_alerts(now=london(2026, 4, 9, 9, 0)) == 0  # nobody left
    steps = list(AlertEscalation.objects.filter(alert=alert).values_list("level", "to", "at"))
    assert steps == [(1, lead.pk, london(2026, 4, 7, 11, 0)),
                     (2, deputy.pk, london(2026, 4, 7, 15, 0))]
    notified = set(Reminder.objects.filter(kind="alert_escalation")
                   .values_list("recipient_user", "channel"))
    assert notified == {(lead.pk, "email"), (lead.pk, "sms"), (deputy.pk, "email"),
                        (deputy.pk, "sms")}


def test_in_24_7_mode_it_escalates_every_hour(patient, answers, lead, deputy, program):
    program.escalation_mode, program.escalation_hours = "24_7", 1
    program.save(update_fields=["escalation_mode", "escalation_hours"])
    alert = open_alert(patient, answers, at=london(2026, 4, 4, 22, 0))  # a Saturday night
    assert tasks.escalate_alerts(now=london(2026, 4, 4, 23, 0)) == 1
    assert tasks.escalate_alerts(now=london(2026, 4, 5, 0, 0)) == 1
    assert [s.to for s in alert.escalations.all()] == [lead, deputy]


def test_escalation_skips_the_lead_when_the_lead_holds_the_alert(
        make_patient, answers, lead, deputy, nine_to_five):
    alert = open_alert(make_patient(clinician=None), answers, at=london(2026, 3, 3, 9, 0))
    assert alert.assigned_to == lead
    assert tasks.escalate_alerts(now=london(2026, 3, 3, 13, 0)) == 1
    assert [s.level for s in alert.escalations.all()] == [2]


# --- Acting on it ---------------------------------------------------------------------------

def test_no_answer_keeps_the_alert_open_and_schedules_a_retry(patient, answers, clinician,
                                                              lead, nine_to_five):
    alert = open_alert(patient, answers, at=london(2026, 3, 3, 9, 0))
    with time_machine.travel(london(2026, 3, 3, 9, 30), tick=False):
        alert = services.alert_acknowledge(alert=alert, actor=clinician, note="Voicemail.",
                                           action="no_answer")
    assert alert.status == "open" and alert.acknowledged_at is None
    assert alert.retry_at == london(2026, 3, 3, 10, 30)
    # Still open: still notified and still escalating.
    assert Reminder.objects.filter(kind="safety_alert", status="pending").count() == 2
    assert tasks.escalate_alerts(now=london(2026, 3, 3, 13, 0)) == 1
    done = services.alert_acknowledge(alert=alert, actor=clinician, note="Reached her.",
                                      action="called_patient")
    assert (done.status, done.action, done.retry_at) == ("acknowledged", "called_patient", None)
    assert list(AlertAction.objects.filter(alert=alert).values_list("action", flat=True)) == [
        "no_answer", "called_patient"]


def test_the_worklist_shows_the_retry(patient, answers, clinician):
    alert = open_alert(patient, answers)
    services.alert_acknowledge(alert=alert, actor=clinician, note="No reply", action="no_answer")
    c = Client()
    c.force_login(clinician)
    html = c.get("/worklist/").content.decode()
    assert 'data-testid="alert-retry"' in html


def test_the_api_records_the_action_and_refuses_an_unknown_one(patient, answers, clinician):
    alert = open_alert(patient, answers)
    api = api_client_for(clinician)
    url = f"/api/alerts/{alert.pk}/acknowledge/"
    r = api.post(url, {"action": "prayed", "note": "x"}, format="json")
    assert r.status_code == 400 and "action" in r.json()["errors"]
    assert not AlertAction.objects.exists()
    r = api.post(url, {"action": "no_answer", "note": "Rang twice."}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["retry_at"]
    r = api.post(url, {"note": "Safety plan by phone."}, format="json")
    assert (r.json()["status"], r.json()["action"]) == ("acknowledged", "other")


def test_the_page_form_records_the_action(patient, answers, clinician):
    alert = open_alert(patient, answers)
    c = Client()
    c.force_login(clinician)
    page = c.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'name="action"' in page and 'value="no_answer"' in page
    c.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "bogus", "note": "x"})
    alert.refresh_from_db()
    assert alert.status == "open" and not alert.actions.exists()
    c.post(f"/alerts/{alert.pk}/acknowledge/", {"action": "safety_plan", "note": "Agreed."})
    alert.refresh_from_db()
    assert (alert.status, alert.action) == ("acknowledged", "safety_plan")


def test_get_alert_api_names_assignee_escalations_and_cssrs_risk(
        patient, answers, clinician, lead, nine_to_five):
    alert = open_alert(patient, answers, at=london(2026, 3, 3, 9, 0))
    tasks.escalate_alerts(now=london(2026, 3, 3, 13, 0))
    services.response_create(patient=patient, instrument="cssrs_screen", actor=clinician,
                             answers={"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0})
    body = api_client_for(clinician).get(f"/api/alerts/{alert.pk}/").json()
    assert body["assigned_to"] == clinician.pk
    assert body["escalations"] == [{"to": lead.pk, "level": 1, "at": "2026-03-03T13:00:00Z"}]
    assert (body["cssrs_risk"], body["emergency_review"]) == ("high", True)


def test_a_c_ssrs_from_the_alert_page_sets_the_risk_and_high_shows_the_banner(
        patient, answers, clinician):
    alert = open_alert(patient, answers)
    c = Client()
    c.force_login(clinician)
    page = c.get(f"/alerts/{alert.pk}/").content.decode()
    # The one questionnaire partial, with its show/hide script for the skip logic.
    assert 'data-asked-when-name="cssrs_screen-q2"' in page and "questionnaire.js" in page
    assert 'data-testid="emergency-review"' not in page
    r = c.post(f"/patients/{patient.pk}/responses/new/", {
        "instrument": "cssrs_screen", "next": f"/alerts/{alert.pk}/",
        "cssrs_screen-q1": "1", "cssrs_screen-q2": "0", "cssrs_screen-q6": "1",
        "cssrs_screen-q6_recent": "1"})
    assert r.status_code == 302 and r["Location"] == f"/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.cssrs_risk == "high"
    page = c.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="emergency-review"' in page
    patient_page = c.get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="cssrs-risk"' in patient_page and "emergency review" in patient_page


def test_a_c_ssrs_without_an_open_alert_changes_no_alert(patient, answers, clinician):
    alert = open_alert(patient, answers)
    services.alert_acknowledge(alert=alert, actor=clinician, note="Done", action="safety_plan")
    services.response_create(patient=patient, instrument="cssrs_screen", actor=clinician,
                             answers={"q1": 1, "q2": 0, "q6": 0})
    alert.refresh_from_db()
    assert alert.cssrs_risk == ""


def test_the_alert_list_and_patient_page_name_the_assigned_person(patient, answers, clinician):
    open_alert(patient, answers)
    c = Client()
    c.force_login(clinician)
    assert 'data-testid="assigned-to">Casey' in c.get("/alerts/").content.decode()
    assert 'data-testid="alert-assigned-to">Casey' in c.get(
        f"/patients/{patient.pk}/").content.decode()


# --- What the patient sees -----------------------------------------------------------------

@pytest.fixture
def phq_link(patient):
    link, url = services.questionnaire_link_create(patient=patient, instruments=["phq9"])
    return "/q/" + url.split("/q/", 1)[1]


def test_the_json_answer_carries_the_crisis_message_and_nothing_else_about_the_alert(
        phq_link, answers, program):
    r = Client().post(phq_link, json.dumps({"answers": {"phq9": answers.phq9(2)}}),
                      content_type="application/json")
    body = r.json()
    assert r.status_code == 201
    assert body["crisis_message"] == default_crisis_message("GB")
    assert set(body) == {"status", "responses", "crisis_message"}


def test_the_thank_you_page_shows_the_programs_own_crisis_message(phq_link, answers, program,
                                                                 patient):
    program.crisis_message = "Call the clinic line on 0300 000 000, or 999 in an emergency."
    program.save(update_fields=["crisis_message"])
    r = Client().post(phq_link, {**{f"phq9-{k}": str(v) for k, v in answers.phq9(1).items()},
                                 "step": 0, "action": "submit"})
    html = r.content.decode()
    assert r.status_code == 201 and "0300 000 000" in html
    for secret in ("safety alert", "phq", "item 9", "assigned", patient.given_name.lower(),
                   program.name.lower()):
        assert secret not in html.lower()


def test_no_crisis_message_without_a_positive_item_9(phq_link, answers):
    r = Client().post(phq_link, json.dumps({"answers": {"phq9": answers.phq9(0)}}),
                      content_type="application/json")
    assert "crisis_message" not in r.json()


def test_the_entry_api_answers_with_the_crisis_message_to_give(patient, answers, clinician):
    api = api_client_for(clinician)
    body = api.post("/api/responses/", {"patient": patient.pk, "instrument": "phq9",
                                        "answers": answers.phq9(1)}, format="json").json()
    assert body["crisis_message"] == default_crisis_message("GB")
    body = api.post("/api/responses/", {"patient": patient.pk, "instrument": "phq9",
                                        "answers": answers.phq9(0)}, format="json").json()
    assert body["crisis_message"] is None
