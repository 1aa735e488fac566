"""The channels against real servers on localhost: email through Django's SMTP backend to an
aiosmtpd server, SMS through the HTTP backend to an http.server provider."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from reminders import sms
from reminders.channels import idempotency_key, message_id
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from reminders.services import reminder_schedule
from reminders.sms import ProviderError
from reminders.tokens import patient_id_from_stop_token

pytestmark = pytest.mark.django_db

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def session_row(patient, session, when=None):
    return reminder_schedule(kind=K.GROUP_SESSION, target_type="group_session",
                             target_id=session.pk, patient=patient, offset="48h",
                             scheduled_for=when or timezone.now() - timedelta(minutes=1))


# --- email over SMTP -------------------------------------------------------------------------

def test_it_delivers_an_email_reminder_through_a_real_smtp_server(
        smtp_settings, patient, group_session, client):
    row = session_row(patient, group_session)
    assert dispatch_due()["sent"] == 1
    assert smtp_settings.wait_for(1, timeout=5)
    envelope, msg = smtp_settings.messages[0]
    assert envelope.rcpt_tos == [patient.email]
    assert msg["Subject"] == "Reminder: your group session"
    assert msg["Auto-Submitted"] == "auto-generated"
    row.refresh_from_db()
    assert row.status == S.SENT
    assert msg["Message-ID"] == message_id(row.key) == f"<{row.provider_message_id}>"

    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    starts = timezone.localtime(group_session.starts_at)
    assert f"at {starts:%H:%M}" in text and "Room 4, Riverside Centre" in text
    for body in (text, html):
        assert "Back pain" not in body and patient.family_name not in body
        assert patient.mrn not in body

    # The stop link in the message is real: it names this patient and opens the stop page.
    stop_link = next(w for w in text.split() if "/reminders/stop/" in w)
    assert stop_link in html
    token = stop_link.rstrip("/").rsplit("/", 1)[1]
    assert patient_id_from_stop_token(token) == patient.pk
    page = client.get(stop_link.replace("http://127.0.0.1:8000", ""))
    assert page.status_code == 200 and b"Stop reminders" in page.content


def test_it_keeps_one_smtp_connection_for_a_batch(smtp_settings, make_patient, group_session):
    from visits.models import Enrolment

    for _ in range(3):
        p = make_patient()
        Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
        session_row(p, group_session)
    assert dispatch_due()["sent"] == 3
    assert smtp_settings.wait_for(3, timeout=5)
    assert len({m["Message-ID"] for _e, m in smtp_settings.messages}) == 3


def test_it_retries_when_the_smtp_server_is_down(settings, patient, group_session):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    row = session_row(patient, group_session)
    assert dispatch_due()["retrying"] == 1
    row.refresh_from_db()
    assert row.status == S.PENDING and row.attempts == 1
    assert row.last_error == "SMTP failure: ConnectionRefusedError"


def test_it_fails_a_recipient_the_smtp_server_refuses(smtp_settings, patient, group_session):
    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 No such user here"

    smtp_settings.handle_RCPT = Refusing.handle_RCPT.__get__(smtp_settings)
    row = session_row(patient, group_session)
    dispatch_due()
    row.refresh_from_db()
    assert (row.status, row.reason) == (S.FAILED, R.INVALID_ADDRESS)
    assert row.last_error == "SMTP refused the recipient (550)"
    assert patient.email not in row.last_error


# --- SMS over HTTP ---------------------------------------------------------------------------

def test_it_posts_an_sms_to_the_http_provider(http_sms_settings):
    provider_id = sms.HttpBackend().send("+447700900123", "Hello", "ipm-key-1")
    assert provider_id == "sms-1"
    [req] = http_sms_settings.requests
    assert req["json"] == {"to": "+447700900123", "body": "Hello",
                           "idempotency_key": "ipm-key-1"}
    assert req["auth"] == "Bearer test-token"
    assert req["idempotency"] == "ipm-key-1"


def test_it_raises_a_provider_error_on_a_non_2xx_answer(http_sms_settings):
    http_sms_settings.status = 500
    with pytest.raises(ProviderError, match="HTTP 500"):
        sms.HttpBackend().send("+447700900123", "Hello", "k")


def test_it_raises_a_provider_error_when_the_provider_is_unreachable(settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{port}/messages"
    with pytest.raises(ProviderError, match="unreachable: ConnectionError"):
        sms.HttpBackend().send("+447700900123", "Hello", "k")


@pytest.fixture
def sms_patient(make_patient, group_session):
    from visits.models import Enrolment

    p = make_patient(preferred_channel="sms", timezone="UTC", phone="+15005550006")
    Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
    return p


def test_it_sends_a_reminder_by_http_sms_with_its_idempotency_key(http_sms_settings,
                                                                  sms_patient, group_session):
    noon = timezone.now().replace(hour=12, minute=0)
    row = session_row(sms_patient, group_session, when=noon)
    with time_machine.travel(noon, tick=False):
        assert dispatch_due()["sent"] == 1
    [req] = http_sms_settings.requests
    row.refresh_from_db()
    assert req["json"]["to"] == "+15005550006"
    assert req["json"]["idempotency_key"] == idempotency_key(row.key)
    assert "/reminders/stop/" in req["json"]["body"]
    assert "Back pain" not in req["json"]["body"]
    assert row.provider_message_id == "sms-1"


def test_it_retries_a_failing_http_provider_with_backoff_then_marks_it_failed(
        http_sms_settings, settings, sms_patient, group_session):
    settings.REMINDERS_MAX_ATTEMPTS = 4
    settings.REMINDERS_RETRY_BASE_SECONDS = 30
    http_sms_settings.status = 500
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    row = session_row(sms_patient, group_session, when=start)
    waits = []
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, 5):
            dispatch_due()
            row.refresh_from_db()
            assert row.attempts == attempt
            if attempt < 4:
                assert row.status == S.PENDING
                waits.append(row.scheduled_for - timezone.now())
                clock.move_to(row.scheduled_for)
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert (row.status, row.reason) == (S.FAILED, R.PROVIDER_ERROR)
    assert row.last_error == "SMS provider answered HTTP 500"
    assert len(http_sms_settings.requests) == 4
    keys = {r["json"]["idempotency_key"] for r in http_sms_settings.requests}
    assert keys == {idempotency_key(row.key)}


def test_it_writes_sms_to_a_file_by_default(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    provider_id = sms.FileBackend().send("+447700900123", "Hello", "k1")
    sms.FileBackend().send("+447700900124", "Again", "k2")
    lines = (tmp_path / "sms" / "outbox.jsonl").read_text().splitlines()
    assert [json.loads(line)["idempotency_key"] for line in lines] == ["k1", "k2"]
    assert json.loads(lines[0])["id"] == provider_id


def test_it_prints_sms_with_the_console_backend():
    import io

    out = io.StringIO()
    sms.ConsoleBackend(stream=out).send("+447700900123", "Hello there", "k1")
    assert "Hello there" in out.getvalue()


def test_it_selects_the_backend_from_settings(settings):
    settings.SMS_BACKEND = "reminders.sms.ConsoleBackend"
    assert isinstance(sms.get_backend(), sms.ConsoleBackend)
    settings.SMS_BACKEND = "reminders.sms.MemoryBackend"
    sms.get_backend().send("+447700900123", "x", "k")
    assert sms.outbox[-1]["to"] == "+447700900123"
