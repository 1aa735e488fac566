"""Each kind re-checks, at send time, that its reminder is still needed, and says why not
with a reason code; messages carry no clinical detail."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reminders import kinds
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from reminders.services import reminder_schedule

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind
NOW = timezone.now


def schedule(**kw):
    kw.setdefault("scheduled_for", timezone.now() - timedelta(minutes=1))
    return reminder_schedule(**kw)


def outcome(row):
    row.refresh_from_db()
    return row.status, row.reason


# --- group sessions --------------------------------------------------------------------------

def session_row(patient, session, offset="48h"):
    return schedule(kind=K.GROUP_SESSION, target_type="group_session", target_id=session.pk,
                    patient=patient, offset=offset)


def test_it_sends_a_session_reminder_while_the_session_is_on(patient, group_session):
    row = session_row(patient, group_session)
    dispatch_due()
    assert outcome(row) == (S.SENT, "")


def test_it_drops_a_session_reminder_when_the_session_was_cancelled(patient, group_session):
    row = session_row(patient, group_session)
    group_session.status = "cancelled"
    group_session.save(update_fields=["status"])
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    assert mail.outbox == []


@pytest.mark.parametrize("status", ["withdrawn", "waitlisted", "completed"])
def test_it_drops_a_session_reminder_when_the_patient_is_no_longer_enrolled(
        patient, group_session, status):
    from visits.models import Enrolment

    row = session_row(patient, group_session)
    Enrolment.objects.filter(patient=patient).update(
        status=status, waitlist_seq=1 if status == "waitlisted" else None)
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)


def test_it_drops_a_session_reminder_once_the_session_has_started(patient, group_session):
    row = session_row(patient, group_session, offset="2h")
    group_session.starts_at = timezone.now() - timedelta(minutes=5)
    group_session.save(update_fields=["starts_at"])
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)


def test_it_drops_a_session_reminder_whose_session_is_gone(patient):
    row = schedule(kind=K.GROUP_SESSION, target_type="group_session", target_id=987654,
                   patient=patient, offset="48h")
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)


def test_it_writes_a_session_reminder_without_clinical_detail(patient, group_session):
    session_row(patient, group_session)
    dispatch_due()
    msg = mail.outbox[0]
    html = msg.alternatives[0][0]
    for body in (msg.subject, msg.body, html):
        assert "Back pain" not in body  # the programme name hints at the condition
        assert patient.family_name not in body
    assert "Room 4, Riverside Centre" in msg.body
    assert "/reminders/stop/" in msg.body and "/reminders/stop/" in html


# --- questionnaire links ---------------------------------------------------------------------

def q_row(patient, link_id=1, offset="0d"):
    return schedule(kind=K.QUESTIONNAIRE_DUE, target_type="questionnaire_link",
                    target_id=link_id, patient=patient, offset=offset)


def _real_link(patient, **changes):
    from outcomes.models import QuestionnaireLink
    from outcomes.services import questionnaire_link_create

    link, url = questionnaire_link_create(patient=patient, instruments=["phq9", "gad7"])
    # Only the due-day reminder matters here; the +3 d / +7 d rows stay in the future.
    if changes:
        QuestionnaireLink.objects.filter(pk=link.pk).update(**changes)
    return link, url


def test_it_sends_a_questionnaire_reminder_with_the_link_while_unused(patient):
    link, url = _real_link(patient)
    row = Reminder.objects.get(target_id=link.pk, key__endswith=":0d")
    dispatch_due()
    assert outcome(row) == (S.SENT, "")
    msg = mail.outbox[0]
    assert url in msg.body
    assert "a short questionnaire" in msg.body
    for word in ("PHQ", "GAD", "PEG", "PROMIS", "depress", "anxiety", "score"):
        assert word.lower() not in msg.body.lower()


@pytest.mark.parametrize("state", [
    {"used_at": NOW()},
    {"expires_at": NOW() - timedelta(minutes=1)},
    {"token_seed": "not-the-seed-of-any-token"},  # its URL can no longer be built
])
def test_it_drops_a_questionnaire_reminder_once_the_link_is_used_or_expired(patient, state):
    link, _url = _real_link(patient, **state)
    row = Reminder.objects.get(target_id=link.pk, key__endswith=":0d")
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    assert mail.outbox == []


def test_it_drops_a_questionnaire_reminder_when_the_link_is_gone(patient):
    from outcomes.models import QuestionnaireLink

    link, _url = _real_link(patient)
    row = Reminder.objects.get(target_id=link.pk, key__endswith=":0d")
    QuestionnaireLink.objects.filter(pk=link.pk).delete()
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)


def test_it_sends_the_real_questionnaire_link_and_stops_once_it_is_answered(patient, client):
    """Through outcomes' own service: the link schedules its reminders (now, +3 d, +7 d);
    the first goes out with a URL that opens the questionnaire; answering cancels the rest."""
    import time_machine

    from outcomes.models import QuestionnaireLink
    from outcomes.services import questionnaire_link_create, questionnaire_link_submit

    link, url = questionnaire_link_create(patient=patient, instruments=["peg"])
    rows = list(Reminder.objects.filter(target_type="questionnaire_link", target_id=link.pk))
    assert len(rows) == 3
    dispatch_due()
    [msg] = mail.outbox
    assert url in msg.body and url in msg.alternatives[0][0]
    assert "peg" not in msg.body.lower()
    assert client.get(url.replace("http://127.0.0.1:8000", "")).status_code == 200

    questionnaire_link_submit(link=QuestionnaireLink.objects.get(pk=link.pk),
                              answers_by_instrument={"peg": {"q1": 5, "q2": 5,
                                                             "q3": 5}})
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        dispatch_due()
    assert len(mail.outbox) == 1
    assert sorted(Reminder.objects.filter(pk__in=[r.pk for r in rows])
                  .values_list("status", flat=True)) == ["cancelled", "cancelled", "sent"]


def test_it_drops_a_real_questionnaire_reminder_once_the_link_expired(patient):
    from outcomes.models import QuestionnaireLink
    from outcomes.services import questionnaire_link_create

    link, _url = questionnaire_link_create(patient=patient, instruments=["peg"],
                                           expires_in_days=5)
    later = Reminder.objects.get(target_id=link.pk, key__endswith=":3d")
    QuestionnaireLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    Reminder.objects.filter(pk=later.pk).update(scheduled_for=timezone.now())
    dispatch_due()
    assert outcome(later) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    assert mail.outbox == []  # the due-day reminder was dropped too


# --- safety alerts ---------------------------------------------------------------------------

@pytest.fixture
def alert(patient, clinician):
    from outcomes.services import response_create

    answers = {f"q{i}": 0 for i in range(1, 9)} | {"q9": 1}
    response = response_create(patient=patient, instrument="phq9", answers=answers,
                               actor=clinician)
    return response.alerts[0]


@pytest.mark.parametrize("kind", [K.SAFETY_ALERT, K.ALERT_ESCALATION])
def test_it_emails_the_clinician_about_an_open_alert_without_clinical_detail(
        alert, clinician, kind):
    clinician.email = "casey@clinic.example"
    clinician.save(update_fields=["email"])
    row = schedule(kind=kind, target_type="safety_alert", target_id=alert.pk,
                   patient=alert.patient, recipient_user=clinician, channel="email")
    dispatch_due()
    assert outcome(row) == (S.SENT, "")
    msg = mail.outbox[0]
    assert msg.to == ["casey@clinic.example"]
    text = (msg.subject + msg.body + msg.alternatives[0][0]).lower()
    for word in ("phq", "item 9", "self-harm", "suicid", alert.patient.family_name.lower()):
        assert word not in text
    assert "http://127.0.0.1:8000/alerts/" in msg.body
    assert "/reminders/stop/" not in msg.body  # staff messages have no stop link


def test_it_drops_an_alert_notification_once_the_alert_is_acknowledged(alert, clinician):
    clinician.email = "casey@clinic.example"
    clinician.save(update_fields=["email"])
    row = schedule(kind=K.ALERT_ESCALATION, target_type="safety_alert", target_id=alert.pk,
                   patient=alert.patient, recipient_user=clinician)
    alert.status, alert.acknowledged_at, alert.action = "acknowledged", alert.opened_at, "other"
    alert.save(update_fields=["status", "acknowledged_at", "action"])
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)


def test_it_sends_staff_alerts_whatever_the_patients_consent(alert, clinician):
    from patients.models import Patient

    clinician.email = "casey@clinic.example"
    clinician.save(update_fields=["email"])
    Patient.objects.filter(pk=alert.patient_id).update(consent_to_contact=False)
    row = schedule(kind=K.SAFETY_ALERT, target_type="safety_alert", target_id=alert.pk,
                   patient=alert.patient, recipient_user=clinician)
    dispatch_due()
    assert outcome(row) == (S.SENT, "")


@pytest.mark.parametrize(("email", "reason"), [("", R.NO_ADDRESS), ("casey@", R.INVALID_ADDRESS)])
def test_it_records_a_staff_member_without_a_usable_email(alert, clinician, email, reason):
    clinician.email = email
    clinician.save(update_fields=["email"])
    row = schedule(kind=K.SAFETY_ALERT, target_type="safety_alert", target_id=alert.pk,
                   recipient_user=clinician)
    dispatch_due()
    assert outcome(row) == (S.FAILED, reason)


# --- SLA digest ------------------------------------------------------------------------------

def referral(patient, code, days_ago, status="new"):
    from referrals.models import Referral, Service

    service = Service.objects.get(code=code)
    return Referral.objects.create(patient=patient, service=service, reason="r",
                                   status=status,
                                   referred_at=timezone.now() - timedelta(days=days_ago))


def digest_row(coordinator):
    coordinator.email = "corey@clinic.example"
    coordinator.save(update_fields=["email"])
    return schedule(kind=K.SLA_DIGEST, target_type="sla_digest",
                    target_id=timezone.now().date().toordinal(), recipient_user=coordinator)


def test_it_sends_the_sla_digest_listing_breaching_referrals(patient, coordinator):
    from referrals.models import Service

    physio = Service.objects.get(code="physio")
    psychology = Service.objects.get(code="psychology")
    late = referral(patient, "physio", physio.sla_triage_days + 2)
    referral(patient, "physio", physio.sla_triage_days + 3)
    referral(patient, "psychology", psychology.sla_triage_days + 1)
    on_time = referral(patient, "physio", 0)
    closed = referral(patient, "physio", 400, status="discharged")
    row = digest_row(coordinator)
    dispatch_due()
    assert outcome(row) == (S.SENT, "")
    body = mail.outbox[0].body
    assert f"Referral #{late.pk}" in body
    assert f"Referral #{on_time.pk}" not in body and f"Referral #{closed.pk}" not in body
    assert "3 referrals are over the service SLA" in body
    assert f"- {physio.name}: 2" in body and f"- {psychology.name}: 1" in body
    assert patient.family_name not in body and patient.mrn not in body


def test_it_counts_a_scheduled_referral_against_its_first_visit_target(patient, coordinator):
    from referrals.models import Service

    physio = Service.objects.get(code="physio")
    late = referral(patient, "physio", physio.sla_first_visit_days + 1, status="scheduled")
    row = digest_row(coordinator)
    dispatch_due()
    assert outcome(row) == (S.SENT, "")
    assert f"Referral #{late.pk}" in mail.outbox[0].body


def test_it_skips_the_sla_digest_when_nothing_breaches(patient, coordinator):
    referral(patient, "physio", 0)
    row = digest_row(coordinator)
    dispatch_due()
    assert outcome(row) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    assert mail.outbox == []


# --- the registry ----------------------------------------------------------------------------

def test_it_registers_every_kind_with_its_templates():
    from django.template.loader import get_template

    assert set(kinds.KINDS) == set(Reminder.Kind.values)
    for code, kind in kinds.KINDS.items():
        get_template(f"reminders/email/{code}.txt")
        get_template(f"reminders/email/{code}.html")
        if kind.patient_directed:
            get_template(f"reminders/sms/{code}.txt")
    assert {c for c, k in kinds.KINDS.items() if k.patient_directed} == {
        K.GROUP_SESSION, K.QUESTIONNAIRE_DUE, K.APPOINTMENT}


def test_it_sends_the_digest_scheduled_by_the_referrals_beat_task(patient, coordinator):
    from referrals.models import Service
    from referrals.tasks import sla_breach_digest

    coordinator.email = "corey@clinic.example"
    coordinator.save(update_fields=["email"])
    physio = Service.objects.get(code="physio")
    late = referral(patient, "physio", physio.sla_triage_days + 2)
    assert sla_breach_digest() == 1
    assert dispatch_due()["sent"] == 1
    assert f"Referral #{late.pk}" in mail.outbox[0].body
    assert mail.outbox[0].to == ["corey@clinic.example"]
