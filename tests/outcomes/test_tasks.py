from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from outcomes import services, tasks
from outcomes.models import QuestionnaireLink, QuestionnaireResponse, SafetyAlert
from reminders.models import Reminder

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def open_alert_at(moment, patient, answers):
    with time_machine.travel(moment, tick=False):
        return services.response_create(patient=patient, instrument="phq9",
                                        answers=answers.phq9(1)).alerts[0]


@pytest.fixture(autouse=True)
def eight_to_six(program):
    """These cases were worked on Monday-Friday 08:00-18:00 (the program's setting)."""
    day = ["08:00", "18:00"]
    program.working_hours = {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
                             "sat": None, "sun": None}
    program.save(update_fields=["working_hours"])


def sweep_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return tasks.escalate_alerts()


@pytest.mark.parametrize(("opened", "not_yet", "due"), [
    (london(2026, 3, 6, 17, 0), london(2026, 3, 9, 10, 59), london(2026, 3, 9, 11, 0)),   # weekend
    (london(2026, 3, 3, 22, 0), london(2026, 3, 4, 11, 59), london(2026, 3, 4, 12, 0)),   # evening
    (london(2026, 3, 3, 9, 30), london(2026, 3, 3, 13, 29), london(2026, 3, 3, 13, 30)),  # daytime
])
def test_it_escalates_to_the_clinical_lead_after_four_working_hours(
        patient, answers, lead, opened, not_yet, due):
    alert = open_alert_at(opened, patient, answers)
    assert sweep_at(not_yet) == 0
    alert.refresh_from_db()
    assert alert.escalated_at is None
    assert sweep_at(due) == 1
    alert.refresh_from_db()
    assert (alert.escalated_at, alert.escalated_to) == (due, lead)
    # Issue 19: by email and by SMS.
    assert sorted((r.recipient_user, r.target_id, r.channel) for r in Reminder.objects.filter(
        kind="alert_escalation").order_by("channel")) == [(lead, alert.pk, "email"),
                                                          (lead, alert.pk, "sms")]


def test_it_skips_public_holidays_and_honours_24_7_mode(patient, answers, lead, program):
    # Thursday 2 April 2026 16:00: Good Friday and Easter Monday are English bank holidays.
    program.holiday_country, program.holiday_region = "GB", "ENG"
    program.save(update_fields=["holiday_country", "holiday_region"])
    open_alert_at(london(2026, 4, 2, 16, 0), patient, answers)
    assert sweep_at(london(2026, 4, 6, 17, 0)) == 0      # Easter Monday: still not due
    assert sweep_at(london(2026, 4, 7, 10, 0)) == 1      # Tuesday 08:00 + 2 h
    program.escalation_mode = "24_7"
    program.save(update_fields=["escalation_mode"])
    open_alert_at(london(2026, 4, 3, 22, 0), patient, answers)
    assert sweep_at(london(2026, 4, 4, 2, 0)) == 1       # four clock hours on a holiday night


def test_it_escalates_only_once_however_often_the_sweep_runs(patient, answers, lead):
    alert = open_alert_at(london(2026, 3, 3, 9, 0), patient, answers)
    assert sweep_at(london(2026, 3, 3, 14, 0)) == 1
    assert sweep_at(london(2026, 3, 3, 14, 5)) == 0
    assert sweep_at(london(2026, 3, 5, 9, 0)) == 0
    alert.refresh_from_db()
    assert alert.escalated_at == london(2026, 3, 3, 14, 0)
    assert Reminder.objects.filter(kind="alert_escalation").count() == 2  # email and SMS
    # A second claim on the same row loses: the conditional update matches nothing.
    assert services.alert_escalate(alert=alert, now=timezone.now()) is False


def test_it_never_escalates_an_acknowledged_alert(patient, answers, lead, clinician):
    alert = open_alert_at(london(2026, 3, 3, 9, 0), patient, answers)
    with time_machine.travel(london(2026, 3, 3, 10, 0), tick=False):
        services.alert_acknowledge(alert=alert, actor=clinician, note="Called the patient.")
    assert sweep_at(london(2026, 3, 4, 9, 0)) == 0
    assert not Reminder.objects.filter(kind="alert_escalation").exists()


def test_it_leaves_the_alert_open_when_the_program_has_no_clinical_lead(patient, answers):
    alert = open_alert_at(london(2026, 3, 3, 9, 0), patient, answers)
    assert sweep_at(london(2026, 3, 4, 9, 0)) == 0
    alert.refresh_from_db()
    assert alert.escalated_at is None and alert.status == "open"


def test_it_notifies_once_per_alert(patient, answers, clinician):
    # Was a task (notify_safety_alert); the row is now written with the alert (issue 17).
    alert = services.response_create(patient=patient, instrument="phq9",
                                     answers=answers.phq9(3)).alerts[0]
    first = list(Reminder.objects.filter(kind="safety_alert", target_id=alert.pk)
                 .order_by("channel"))
    assert services.alert_notify(alert=alert) == first  # idempotent: one row per channel
    assert {r.recipient_user for r in first} == {clinician}


# --- Planning links on the due day ---------------------------------------------------------

def test_it_creates_the_due_link_on_the_due_day_once(make_patient):
    today = date(2026, 6, 15)
    due = make_patient(intake_date=today - timedelta(weeks=6))
    make_patient(intake_date=today - timedelta(weeks=6), consent_to_contact=False)
    make_patient(intake_date=today - timedelta(weeks=6), preferred_channel="none")
    make_patient(intake_date=today - timedelta(weeks=6, days=-1))  # due tomorrow: not yet
    answered = make_patient(intake_date=today - timedelta(weeks=12))
    for code in ("peg", "phq9", "gad7", "promis29", "nps"):
        QuestionnaireResponse.objects.create(
            patient=answered, instrument=code, instrument_version="x", answers={}, scores={},
            answered_at=timezone.make_aware(datetime(2026, 6, 10, 10)))
    with time_machine.travel(london(2026, 6, 15, 6, 0), tick=False):
        assert tasks.plan_due_questionnaires() == 1
        assert tasks.plan_due_questionnaires() == 0
    link = QuestionnaireLink.objects.get()
    assert (link.patient, link.instruments, link.created_by) == (due, ["peg", "phq9", "gad7"], None)
    assert Reminder.objects.filter(target_id=link.pk, kind="questionnaire_due").count() == 3
    assert SafetyAlert.objects.count() == 0


def test_it_catches_up_a_due_day_missed_while_the_worker_was_down(make_patient):
    # Issue 19: the daily planning only looked at what fell due that very day.
    today = date(2026, 6, 15)
    missed = make_patient(intake_date=today - timedelta(weeks=6, days=3))  # due on the 12th
    with time_machine.travel(london(2026, 6, 15, 6, 0), tick=False):
        assert tasks.plan_due_questionnaires() == 1
        assert tasks.plan_due_questionnaires() == 0  # sent once: not planned again
    link = QuestionnaireLink.objects.get()
    assert (link.patient, link.instruments) == (missed, ["peg", "phq9", "gad7"])
    # Once a link has gone out, its expiry does not make the planner send it again.
    QuestionnaireLink.objects.update(expires_at=timezone.now())
    with time_machine.travel(london(2026, 6, 20, 6, 0), tick=False):
        assert tasks.plan_due_questionnaires() == 0


def test_it_plans_the_discharge_nps(make_patient):
    # Issue 19: the discharge NPS was never sent (only week rules were planned).
    from referrals.catalogue import SERVICES
    from referrals.models import Referral, Service

    code, name, discipline, triage, first_visit, group = SERVICES[0]
    service, _ = Service.objects.get_or_create(code=code, defaults={
        "name": name, "discipline": discipline, "sla_triage_days": triage,
        "sla_first_visit_days": first_visit, "is_group_based": group})
    patient = make_patient(intake_date=date(2025, 1, 6))
    Referral.objects.create(patient=patient, service=service, reason="pain",
                            referred_at=london(2025, 1, 6, 10, 0), status="discharged",
                            closed_at=london(2026, 6, 13, 11, 0))
    with time_machine.travel(london(2026, 6, 15, 6, 0), tick=False):
        assert tasks.plan_due_questionnaires() == 1
    assert QuestionnaireLink.objects.get().instruments == ["nps"]
