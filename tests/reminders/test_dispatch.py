"""The dispatcher: claims due rows, re-checks eligibility, sends once, records every outcome
(sent, or a reason code), retries provider errors with backoff, and takes back claims left
by a dead worker without ever sending a message twice."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from outcomes.reminder_kinds import SafetyAlertKind
from reminders import dispatch, sms
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from reminders.services import reminder_schedule
from reminders.sms import ProviderError
from visits.reminder_kinds import GroupSessionKind

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def session_reminder(patient, session, offset="48h", when=None):
    return reminder_schedule(kind=K.GROUP_SESSION, target_type="group_session",
                             target_id=session.pk, patient=patient, offset=offset,
                             channel=patient.preferred_channel,
                             scheduled_for=when or timezone.now() - timedelta(minutes=1))


def test_it_sends_a_due_email_reminder_once_and_records_it(patient, group_session):
    row = session_reminder(patient, group_session)
    counts = dispatch_due()
    assert counts["sent"] == 1
    row.refresh_from_db()
    assert row.status == S.SENT and row.sent_at and row.attempts == 1
    assert row.provider_message_id.endswith("@ipm.local")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [patient.email]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{row.provider_message_id}>"
    # A second pass finds nothing to do: sent is final.
    assert dispatch_due()["sent"] == 0
    assert len(mail.outbox) == 1


def test_it_leaves_reminders_that_are_not_due_yet(patient, group_session):
    row = session_reminder(patient, group_session, when=timezone.now() + timedelta(hours=1))
    assert dispatch_due()["claimed"] == 0
    row.refresh_from_db()
    assert row.status == S.PENDING


def test_it_sends_sms_on_the_patients_preferred_channel(make_patient, group_session):
    from visits.models import Enrolment

    patient = make_patient(preferred_channel="sms", timezone="UTC")
    Enrolment.objects.create(series=group_session.series, patient=patient, status="enrolled")
    # Scheduled as email, but the patient now prefers SMS: the preference at send time wins.
    noon = timezone.now().replace(hour=12, minute=0)
    row = reminder_schedule(kind=K.GROUP_SESSION, target_type="group_session",
                            target_id=group_session.pk, patient=patient, offset="2h",
                            channel="email", scheduled_for=noon)
    import time_machine

    with time_machine.travel(noon, tick=False):
        dispatch_due()
    row.refresh_from_db()
    assert row.status == S.SENT and row.channel == "sms"
    assert [m["to"] for m in sms.outbox] == ["+447700900123"]
    assert "/reminders/stop/" in sms.outbox[0]["body"]
    assert mail.outbox == []


@pytest.mark.parametrize(("overrides", "reason", "status"), [
    ({"consent_to_contact": False}, R.NO_CONSENT, S.CANCELLED),
    ({"preferred_channel": "none"}, R.NO_CONSENT, S.CANCELLED),
    ({"email": ""}, R.NO_ADDRESS, S.FAILED),
    ({"preferred_channel": "sms", "phone": ""}, R.NO_ADDRESS, S.FAILED),
    ({"email": "not-an-address"}, R.INVALID_ADDRESS, S.FAILED),
    ({"preferred_channel": "sms", "phone": "07700 900123"}, R.INVALID_ADDRESS, S.FAILED),
])
def test_it_records_why_a_patient_reminder_was_not_sent(patient, group_session, overrides,
                                                         reason, status):
    from patients.models import Patient

    row = session_reminder(patient, group_session)
    # Written straight to the row: the address may have gone bad after intake validated it.
    Patient.objects.filter(pk=patient.pk).update(**overrides)
    counts = dispatch_due()
    row.refresh_from_db()
    assert (row.status, row.reason) == (status, reason)
    assert counts[status] == 1
    assert row.attempts == 0 and row.sent_at is None
    assert mail.outbox == [] and sms.outbox == []


def test_it_cancels_a_reminder_whose_kind_is_unknown(patient):
    row = reminder_schedule(kind="carrier_pigeon", patient=patient, channel="email",
                            scheduled_for=timezone.now())
    dispatch_due()
    row.refresh_from_db()
    assert (row.status, row.reason) == (S.CANCELLED, R.NO_LONGER_NEEDED)
    assert "Unknown kind" in row.last_error


class FlakyBackend(sms.SmsBackend):
    fail = True

    def send(self, to, body, idempotency_key):
        if FlakyBackend.fail:
            raise ProviderError("SMS provider answered HTTP 503")
        return sms.MemoryBackend().send(to, body, idempotency_key)


@pytest.fixture
def sms_patient(make_patient, group_session):
    from visits.models import Enrolment

    patient = make_patient(preferred_channel="sms", timezone="UTC")
    Enrolment.objects.create(series=group_session.series, patient=patient, status="enrolled")
    return patient


def test_it_retries_provider_errors_with_exponential_backoff_then_fails(
        settings, sms_patient, group_session):
    import time_machine

    settings.SMS_BACKEND = f"{__name__}.FlakyBackend"
    settings.REMINDERS_RETRY_BASE_SECONDS = 60
    settings.REMINDERS_MAX_ATTEMPTS = 3
    FlakyBackend.fail = True
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    row = session_reminder(sms_patient, group_session, when=start)
    with time_machine.travel(start, tick=False) as clock:
        assert dispatch_due()["retrying"] == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == (S.PENDING, 1)
        assert row.scheduled_for == start + timedelta(seconds=60 * 2)
        assert row.last_error == "SMS provider answered HTTP 503"

        clock.move_to(start + timedelta(seconds=119))
        assert dispatch_due()["claimed"] == 0  # not before its backoff

        clock.move_to(row.scheduled_for)
        assert dispatch_due()["retrying"] == 1
        row.refresh_from_db()
        assert row.attempts == 2
        assert row.scheduled_for == start + timedelta(seconds=120 + 60 * 4)

        clock.move_to(row.scheduled_for)
        assert dispatch_due()["failed"] == 1
    row.refresh_from_db()
    assert (row.status, row.reason, row.attempts) == (S.FAILED, R.PROVIDER_ERROR, 3)
    assert row.last_error == "SMS provider answered HTTP 503"


def test_it_sends_on_a_retry_when_the_provider_recovers(settings, sms_patient, group_session):
    import time_machine

    settings.SMS_BACKEND = f"{__name__}.FlakyBackend"
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    row = session_reminder(sms_patient, group_session, when=start)
    with time_machine.travel(start, tick=False) as clock:
        FlakyBackend.fail = True
        dispatch_due()
        FlakyBackend.fail = False
        row.refresh_from_db()
        clock.move_to(row.scheduled_for)
        assert dispatch_due()["sent"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 2, "")
    assert len(sms.outbox) == 1


class RecordingFlakyBackend(FlakyBackend):
    keys: list[str] = []

    def send(self, to, body, idempotency_key):
        RecordingFlakyBackend.keys.append(idempotency_key)
        return super().send(to, body, idempotency_key)


def test_it_sends_every_attempt_with_the_same_idempotency_key(settings, sms_patient,
                                                             group_session):
    import time_machine

    settings.SMS_BACKEND = f"{__name__}.RecordingFlakyBackend"
    RecordingFlakyBackend.keys = []
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    row = session_reminder(sms_patient, group_session, when=start)
    with time_machine.travel(start, tick=False) as clock:
        FlakyBackend.fail = True
        dispatch_due()
        FlakyBackend.fail = False
        row.refresh_from_db()
        clock.move_to(row.scheduled_for)
        dispatch_due()
    keys = RecordingFlakyBackend.keys
    assert len(keys) == 2 and keys[0] == keys[1]
    assert row.key not in keys[0]  # a digest: the key names patient ids


def test_it_takes_back_a_stale_claim_that_never_reached_the_provider(patient, group_session,
                                                                      settings):
    """A worker died after claiming, before the attempt marker: the row is sent by the
    next pass, once."""
    settings.REMINDERS_VISIBILITY_SECONDS = 600
    row = session_reminder(patient, group_session)
    Reminder.objects.filter(pk=row.pk).update(
        status=S.SENDING, claimed_at=timezone.now() - timedelta(minutes=11),
        claim_token="00000000-0000-0000-0000-000000000001")
    counts = dispatch_due()
    assert counts["reclaimed"] == 1 and counts["sent"] == 1
    row.refresh_from_db()
    assert row.status == S.SENT
    assert len(mail.outbox) == 1


def test_it_leaves_a_fresh_claim_alone(patient, group_session):
    """Another worker is busy with it: not taken back before the visibility window."""
    row = session_reminder(patient, group_session)
    Reminder.objects.filter(pk=row.pk).update(
        status=S.SENDING, claimed_at=timezone.now() - timedelta(minutes=1),
        claim_token="00000000-0000-0000-0000-000000000001")
    counts = dispatch_due()
    assert counts["reclaimed"] == 0 and counts["claimed"] == 0
    row.refresh_from_db()
    assert row.status == S.SENDING
    assert mail.outbox == []


def test_it_never_resends_a_claim_whose_attempt_may_have_reached_the_provider(
        patient, group_session):
    """A worker died after the attempt marker: the message may have gone, so it is not
    sent again but shown as failed with an explanation (at most once)."""
    row = session_reminder(patient, group_session)
    old = timezone.now() - timedelta(minutes=11)
    Reminder.objects.filter(pk=row.pk).update(
        status=S.SENDING, claimed_at=old, attempt_started_at=old, attempts=1,
        claim_token="00000000-0000-0000-0000-000000000001")
    counts = dispatch_due()
    assert counts["unknown"] == 1 and counts["sent"] == 0
    row.refresh_from_db()
    assert (row.status, row.reason) == (S.FAILED, R.PROVIDER_ERROR)
    assert row.last_error.startswith("Outcome unknown")
    assert mail.outbox == []


def test_it_does_not_send_when_its_claim_was_taken_back_meanwhile(patient, group_session):
    """A slow pass whose claim was taken back finds its conditional writes refused."""
    import uuid

    row = session_reminder(patient, group_session)
    token = uuid.uuid4()
    assert dispatch.claim_batch(token, 10) == 1
    # Another pass takes the row back and claims it under its own token.
    Reminder.objects.filter(pk=row.pk).update(claim_token=uuid.uuid4())
    from collections import Counter

    counts = Counter()
    dispatch.send_batch(token, counts)
    assert counts == Counter()  # the batch query no longer sees the row
    row.refresh_from_db()
    fresh = Reminder.objects.select_related("patient").get(pk=row.pk)
    from reminders import kinds

    data = kinds.get(fresh.kind).prefetch([fresh], timezone.now())
    assert dispatch.send_one(fresh, token, data, {}) == "lost"
    assert mail.outbox == []


def test_it_records_a_message_that_cannot_be_built_as_failed(patient, group_session,
                                                              monkeypatch):

    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(GroupSessionKind, "context", broken)
    row = session_reminder(patient, group_session)
    dispatch_due()
    row.refresh_from_db()
    assert row.status == S.FAILED
    assert row.last_error == "Message could not be built: KeyError"


def test_it_processes_due_rows_in_several_batches(make_patient, group_session):
    from visits.models import Enrolment

    rows = []
    for _ in range(5):
        p = make_patient()
        Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
        rows.append(session_reminder(p, group_session))
    counts = dispatch_due(batch_size=2)
    assert counts["claimed"] == 5 and counts["sent"] == 5
    assert len(mail.outbox) == 5
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 5


def test_it_checks_eligibility_in_a_constant_number_of_queries(make_patient, group_session,
                                                               django_assert_max_num_queries):
    """Prefetching per kind: beyond a fixed few queries per batch, a row costs only its
    own attempt marker (savepoint, SET LOCAL, UPDATE, release) and its result UPDATE."""
    from visits.models import Enrolment

    def batch(n):
        for _ in range(n):
            p = make_patient()
            Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
            session_reminder(p, group_session, offset=f"{p.pk}")

    batch(2)
    with django_assert_max_num_queries(100) as two:
        assert dispatch_due()["sent"] == 2
    batch(6)
    with django_assert_max_num_queries(100) as six:
        assert dispatch_due()["sent"] == 6
    from django.db import connection

    per_row = (len(six.captured_queries) - len(two.captured_queries)) / 4
    assert per_row == (5 if connection.vendor == "postgresql" else 4)  # + SET LOCAL on PG
    assert len(two.captured_queries) - 2 * per_row <= 16  # claims, prefetch, settings


def test_it_logs_ids_only_never_patient_data(patient, group_session, caplog):
    row = session_reminder(patient, group_session)
    with caplog.at_level(logging.DEBUG, logger="reminders"):
        dispatch_due()
    text = caplog.text
    assert str(row.pk) in text
    for secret in (patient.email, patient.family_name, patient.phone, patient.mrn):
        assert secret not in text


def test_it_dispatches_from_the_celery_task_by_its_beat_name(patient, group_session):
    from reminders.tasks import dispatch_due as task

    session_reminder(patient, group_session)
    assert task.name == "reminders.tasks.dispatch_due"
    result = task.delay()
    assert result.get()["sent"] == 1
    assert len(mail.outbox) == 1


def test_it_fans_out_helper_passes_only_for_a_backlog(settings, patient):
    settings.REMINDERS_BATCH_SIZE = 2
    settings.REMINDERS_PARALLEL_PASSES = 3

    def due(n):
        for i in range(n):
            reminder_schedule(kind=K.GROUP_SESSION, target_type="x", target_id=i,
                              patient=patient, offset=f"{n}-{i}", scheduled_for=timezone.now())

    assert dispatch.helpers_wanted() == 0
    due(2)
    assert dispatch.helpers_wanted() == 0  # one batch: no help needed
    due(1)
    assert dispatch.helpers_wanted() == 1
    due(4)
    assert dispatch.helpers_wanted() == 2  # capped at PARALLEL_PASSES - 1
    settings.REMINDERS_PARALLEL_PASSES = 1
    assert dispatch.helpers_wanted() == 0


def test_it_chains_another_pass_when_a_pass_runs_out_of_time(settings, make_patient,
                                                             group_session):
    from reminders.tasks import dispatch_due as task
    from visits.models import Enrolment

    settings.REMINDERS_BATCH_SIZE = 1
    settings.REMINDERS_PASS_SECONDS = 0  # every pass stops after its first batch
    settings.REMINDERS_PARALLEL_PASSES = 1
    rows = []
    for _ in range(3):
        p = make_patient()
        Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
        rows.append(session_reminder(p, group_session))
    first = task.delay().get()
    assert first["claimed"] == 1 and first["more"] == 1
    assert Reminder.objects.filter(status=S.SENT).count() == 3  # the chained passes ran
    assert len(mail.outbox) == 3


def test_it_records_a_broken_eligibility_check_and_carries_on(make_patient, group_session,
                                                              monkeypatch):
    from visits.models import Enrolment

    other = make_patient()
    Enrolment.objects.create(series=group_session.series, patient=other, status="enrolled")
    good = session_reminder(other, group_session)
    bad = reminder_schedule(kind=K.SAFETY_ALERT, target_type="safety_alert", target_id=1,
                            scheduled_for=timezone.now() - timedelta(hours=1))

    def broken(self, row, data, now):
        raise RuntimeError("bug")

    monkeypatch.setattr(SafetyAlertKind, "eligibility", broken)
    dispatch_due()
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.status, bad.last_error) == (S.FAILED, "Eligibility check failed: RuntimeError")
    assert good.status == S.SENT


@pytest.mark.postgres
def test_it_waits_for_the_disk_only_on_the_attempt_marker(patient, group_session):
    """The marker's commit is synchronous (SET LOCAL inside its transaction); the rest of
    the pass commits asynchronously, and the session setting is put back afterwards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session_reminder(patient, group_session)
    with CaptureQueriesContext(connection) as ctx:
        dispatch_due()
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert sqls[0] == "SET synchronous_commit TO OFF"
    assert sqls[-1] == "SET synchronous_commit TO DEFAULT"
    on = sqls.index("SET LOCAL synchronous_commit TO ON")
    assert '"attempt_started_at" =' in sqls[on + 1] and sqls[on + 1].startswith("UPDATE")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
