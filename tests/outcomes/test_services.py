from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from ipm.errors import Conflict, Gone, InvalidInput
from outcomes import instruments, links, services
from outcomes.models import (
    MedicationReview,
    QuestionnaireLink,
    QuestionnaireResponse,
    SafetyAlert,
)
from reminders.models import Reminder

pytestmark = pytest.mark.django_db


def at_week(patient, weeks, days=0):
    day = patient.intake_date + timedelta(weeks=weeks, days=days)
    return timezone.make_aware(datetime.combine(day, datetime.min.time().replace(hour=10)))


# --- Responses and safety alerts ---------------------------------------------------------

def test_it_stores_answers_scores_and_version_as_the_engine_scores_them(patient, answers, clinician):
    response = services.response_create(patient=patient, instrument="phq9",
                                        answers={k: str(v) for k, v in answers.phq9().items()},
                                        actor=clinician)
    expected = instruments.score_response("phq9", answers.phq9())
    response.refresh_from_db()
    assert response.scores == expected.scores
    assert response.answers == expected.answers_clean
    assert response.instrument_version == instruments.get("phq9").version
    assert response.primary_score == Decimal(expected.scores["total"])
    assert response.entered_by == clinician


def test_it_opens_an_alert_when_phq9_item9_is_above_zero_whatever_the_total(patient, answers):
    quiet = services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(0, 0))
    assert not SafetyAlert.objects.filter(response=quiet).exists()
    low_total = services.response_create(patient=patient, instrument="phq9",
                                         answers=answers.phq9(item9=1, rest=0))
    alert = SafetyAlert.objects.get(response=low_total)
    assert alert.status == "open" and alert.patient == patient
    assert [a.pk for a in low_total.alerts] == [alert.pk]


def test_it_saves_neither_response_nor_alert_when_the_alert_insert_fails(patient, answers):
    with mock.patch.object(SafetyAlert.objects, "create", side_effect=RuntimeError("db down")):
        with pytest.raises(RuntimeError):
            services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(2))
    assert QuestionnaireResponse.objects.count() == 0
    assert SafetyAlert.objects.count() == 0


def test_it_saves_neither_when_something_fails_after_both_inserts(patient, answers):
    with mock.patch("outcomes.tracking.response_recorded", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(3))
        with pytest.raises(RuntimeError):
            services.responses_create_many(patient=patient, answers_by_instrument={
                "peg": answers.peg_bad, "phq9": answers.phq9(3)})
    assert QuestionnaireResponse.objects.count() == 0
    assert SafetyAlert.objects.count() == 0


def test_it_keeps_every_alert_paired_with_its_response(patient, answers):
    for item9 in (0, 1, 2, 3, 0, 1):
        services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(item9))
    positive = QuestionnaireResponse.objects.filter(instrument="phq9", scores__item9_positive=True)
    assert set(SafetyAlert.objects.values_list("response_id", flat=True)) == set(
        positive.values_list("pk", flat=True))
    assert positive.count() == 4


def test_it_writes_the_clinicians_notification_in_the_alerts_own_transaction(
        patient, answers, clinician, django_capture_on_commit_callbacks):
    # Changed on purpose (issue 17): the outbox row is written with the alert, not by a
    # task queued after commit; reminders' dispatch sends it. Issue 19: by email AND SMS.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = services.response_create(patient=patient, instrument="phq9",
                                            answers=answers.phq9(1))
        assert Reminder.objects.filter(kind="safety_alert").count() == 2
    assert callbacks == []  # no task to queue: nothing can be lost to a broker outage
    rows = Reminder.objects.filter(kind="safety_alert")
    assert {r.recipient_user for r in rows} == {clinician}
    assert {(r.target_type, r.target_id) for r in rows} == {("safety_alert", response.alerts[0].pk)}
    assert sorted(r.channel for r in rows) == ["email", "sms"]


def test_a_rolled_back_response_leaves_neither_alert_nor_notification(patient, answers):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(2))
        raise RuntimeError("the request failed after the response was stored")
    assert not SafetyAlert.objects.exists()
    assert not Reminder.objects.exists()


def test_it_notifies_the_clinical_lead_when_the_patient_has_no_clinician(
        make_patient, lead, answers, django_capture_on_commit_callbacks):
    patient = make_patient(clinician=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.response_create(patient=patient, instrument="phq9", answers=answers.phq9(1))
    assert {r.recipient_user for r in Reminder.objects.filter(kind="safety_alert")} == {lead}


def test_it_refuses_a_response_with_per_item_errors_and_saves_nothing(patient):
    with pytest.raises(InvalidInput) as exc:
        services.response_create(patient=patient, instrument="peg", answers={"q1": 3, "q2": 11})
    assert exc.value.errors == {"answers": {"q2": [mock.ANY], "q3": ["This item is required."]}}
    assert QuestionnaireResponse.objects.count() == 0


# --- Responder / not improving ------------------------------------------------------------

@pytest.mark.parametrize(("weeks", "flagged"), [(11, False), (12, True)])
def test_it_flags_not_improving_at_twelve_weeks_not_eleven(patient, answers, weeks, flagged):
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_bad,
                             answered_at=at_week(patient, 0))
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_same,
                             answered_at=at_week(patient, weeks))
    patient.refresh_from_db()
    assert patient.not_improving is flagged
    assert patient.responder is False


def test_it_marks_a_responder_and_clears_not_improving_when_peg_improves(patient, answers):
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_bad,
                             answered_at=at_week(patient, 0))
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_same,
                             answered_at=at_week(patient, 12))
    services.response_create(patient=patient, instrument="peg", answers=answers.peg_better,
                             answered_at=at_week(patient, 26))
    patient.refresh_from_db()
    assert patient.responder is True
    assert patient.not_improving is False


# --- Questionnaire links ------------------------------------------------------------------

def test_it_stores_only_the_hash_of_the_link_token(patient, coordinator):
    link, url = services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"],
                                                   actor=coordinator)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert url.startswith("http://testserver/q/") or url.startswith("http")
    assert len(token) >= 43
    assert link.token_hash == links.token_hash(token)
    assert token not in str(QuestionnaireLink.objects.filter(pk=link.pk).values().get())
    assert links.link_url(link) == url
    assert link.expires_at - link.created_at == timedelta(days=14)


def test_it_schedules_questionnaire_due_reminders_on_the_preferred_channel(make_patient):
    patient = make_patient(preferred_channel="sms", phone="+447700900123")
    link, _ = services.questionnaire_link_create(patient=patient, instruments=["peg"])
    reminders = list(Reminder.objects.filter(target_type="questionnaire_link", target_id=link.pk)
                     .order_by("scheduled_for"))
    assert [r.kind for r in reminders] == ["questionnaire_due"] * 3
    assert {r.channel for r in reminders} == {"sms"}
    gaps = [(r.scheduled_for - link.created_at).days for r in reminders]
    assert gaps == [0, 3, 7]


def test_it_schedules_no_reminder_without_a_channel_or_after_expiry(make_patient):
    silent = make_patient(preferred_channel="none")
    link, _ = services.questionnaire_link_create(patient=silent, instruments=["peg"])
    assert not Reminder.objects.filter(target_id=link.pk).exists()
    short = make_patient()
    link, _ = services.questionnaire_link_create(patient=short, instruments=["peg"],
                                                 expires_in_days=2)
    assert Reminder.objects.filter(target_type="questionnaire_link", target_id=link.pk).count() == 1


@pytest.mark.parametrize(("codes", "days", "field"), [
    ([], None, "instruments"),
    (["peg", "nope"], None, "instruments"),
    (["peg", "peg"], None, "instruments"),
    (["peg"], 0, "expires_in_days"),
    (["peg"], 91, "expires_in_days"),
])
def test_it_refuses_a_bad_link_request(patient, codes, days, field):
    with pytest.raises(InvalidInput) as exc:
        services.questionnaire_link_create(patient=patient, instruments=codes, expires_in_days=days)
    assert field in exc.value.errors
    assert not QuestionnaireLink.objects.exists()


def test_it_saves_a_link_submission_once_and_cancels_its_reminders(patient, answers):
    link, _ = services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"])
    saved = services.questionnaire_link_submit(
        link=link, answers_by_instrument={"peg": answers.peg_bad, "phq9": answers.phq9(1)})
    assert [r.instrument for r in saved] == ["peg", "phq9"]
    assert {r.context for r in saved} == {"patient_link"}
    assert SafetyAlert.objects.filter(response=saved[1]).exists()
    link.refresh_from_db()
    assert link.used_at is not None
    assert set(Reminder.objects.filter(target_id=link.pk).values_list("status", flat=True)) == {
        "cancelled"}
    with pytest.raises(Gone):
        services.questionnaire_link_submit(
            link=link, answers_by_instrument={"peg": answers.peg_bad, "phq9": answers.phq9(1)})
    assert QuestionnaireResponse.objects.count() == 2


def test_it_keeps_the_link_usable_after_invalid_answers(patient, answers):
    link, _ = services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"])
    with pytest.raises(InvalidInput) as exc:
        services.questionnaire_link_submit(
            link=link, answers_by_instrument={"peg": {"q1": 2}, "phq9": answers.phq9()})
    assert set(exc.value.errors) == {"peg"}
    assert set(exc.value.errors["peg"]) == {"q2", "q3"}
    link.refresh_from_db()
    assert link.used_at is None
    assert QuestionnaireResponse.objects.count() == 0


def test_it_refuses_an_expired_link(patient, answers, time_machine):
    link, _ = services.questionnaire_link_create(patient=patient, instruments=["peg"],
                                                 expires_in_days=1)
    time_machine.move_to(timezone.now() + timedelta(days=1, seconds=1))
    with pytest.raises(Gone):
        services.questionnaire_link_submit(link=link, answers_by_instrument={"peg": answers.peg_bad})
    assert QuestionnaireResponse.objects.count() == 0


# --- Acknowledging alerts -----------------------------------------------------------------

@pytest.fixture
def alert(patient, answers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = services.response_create(patient=patient, instrument="phq9",
                                            answers=answers.phq9(2))
    return response.alerts[0]


def test_it_acknowledges_an_alert_once_with_an_action_note(alert, clinician):
    with pytest.raises(InvalidInput):
        services.alert_acknowledge(alert=alert, actor=clinician, note="  ")
    done = services.alert_acknowledge(alert=alert, actor=clinician, note="Called; safety plan.")
    assert (done.status, done.acknowledged_by, done.action_note) == (
        "acknowledged", clinician, "Called; safety plan.")
    assert done.acknowledged_at is not None
    # The clinician's pending notification is moot once someone has acted.
    assert {r.status for r in Reminder.objects.filter(kind="safety_alert")} == {"cancelled"}
    with pytest.raises(Conflict):
        services.alert_acknowledge(alert=alert, actor=clinician, note="again")


# --- Medication reviews ----------------------------------------------------------------------

def test_it_records_a_mixed_regimen_with_the_mme_of_each_line(patient, clinician):
    review = services.medication_review_create(patient=patient, actor=clinician, lines=[
        {"drug": "oxycodone", "dose": "10", "doses_per_day": 2},      # 30
        {"drug": "fentanyl_transdermal", "dose": 25},                  # 60
        {"drug": "tramadol", "dose": 50, "doses_per_day": 4},          # 40
        {"drug": "buprenorphine", "dose": 2, "doses_per_day": 1},      # not converted
    ])
    assert review.total_mme == Decimal("130.0")
    assert [line.daily_mme for line in review.lines.order_by("pk")] == [
        Decimal("30.0"), Decimal("60.0"), Decimal("40.0"), None]
    assert [line.unit for line in review.lines.order_by("pk")][:2] == ["mg", "mcg/h"]
    assert review.lines.get(drug="fentanyl_transdermal").route == "transdermal"
    assert review.flags == ["mme_50", "mme_90"]
    patient.refresh_from_db()
    assert patient.current_mme == patient.baseline_mme == Decimal("130.0")
    assert "mme_90" in patient.flags


@pytest.mark.parametrize(("drug", "dose", "per_day", "mme"), [
    ("codeine", 30, 4, "18.0"), ("hydrocodone", 5, 4, "20.0"), ("hydromorphone", 2, 3, "30.0"),
    ("methadone", 10, 1, "47.0"), ("morphine", 15, 2, "30.0"), ("oxycodone", 10, 2, "30.0"),
    ("oxymorphone", 5, 2, "30.0"), ("tapentadol", 50, 2, "40.0"), ("tramadol", 50, 2, "20.0"),
    ("fentanyl_transdermal", 12, 1, "28.8"),
])
def test_it_converts_each_opioid_with_the_cdc_2022_factor(patient, drug, dose, per_day, mme):
    review = services.medication_review_create(
        patient=patient, lines=[{"drug": drug, "dose": dose, "doses_per_day": per_day}])
    assert review.total_mme == Decimal(mme)
    assert review.lines.get().daily_mme == Decimal(mme)


def test_it_takes_a_total_entered_directly_and_keeps_the_first_as_baseline(patient, time_machine):
    services.medication_review_create(patient=patient, total_mme="60")
    later = services.medication_review_create(patient=patient, total_mme=Decimal("45.5"))
    assert later.total_entered_directly
    patient.refresh_from_db()
    assert (patient.baseline_mme, patient.current_mme) == (Decimal("60.0"), Decimal("45.5"))
    # A review dated in the past does not replace the current dose.
    services.medication_review_create(patient=patient, total_mme=10,
                                      reviewed_at=timezone.now() - timedelta(days=30))
    patient.refresh_from_db()
    assert patient.current_mme == Decimal("45.5")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({}, "total_mme"),
    ({"total_mme": "-1"}, "total_mme"),
    ({"total_mme": "10", "lines": [{"drug": "morphine", "dose": 10}]}, "total_mme"),
    ({"lines": [{"drug": "heroin", "dose": 10}]}, "lines"),
    ({"lines": [{"drug": "morphine", "dose": 0}]}, "lines"),
    ({"lines": [{"drug": "morphine", "dose": 10, "doses_per_day": "x"}]}, "lines"),
])
def test_it_refuses_a_bad_medication_review_and_saves_nothing(patient, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        services.medication_review_create(patient=patient, **kwargs)
    assert field in exc.value.errors
    assert not MedicationReview.objects.exists()
    patient.refresh_from_db()
    assert patient.current_mme is None
