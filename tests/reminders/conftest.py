"""Fixtures for the reminders tests: patients made through the patients service, a group
session with an enrolment, a real SMTP server (aiosmtpd) and a real HTTP SMS provider
(http.server), each on a free local port."""

import itertools
import json
import threading
from datetime import date, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from reminders import sms

_mrn = itertools.count(1)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def make_patient(db, clinician):
    from patients.services import patient_create

    def _make(**overrides):
        n = next(_mrn)
        data = {"mrn": f"R{n:05d}", "given_name": "Robin", "family_name": f"Reminder{n}",
                "birth_date": date(1970, 1, 1), "sex": "female",
                "email": f"robin{n}@example.org", "phone": "+447700900123",
                "preferred_channel": "email", "consent_to_contact": True,
                "timezone": "Europe/London"}
        data.update(overrides)
        return patient_create(actor=clinician, clinician=clinician, **data)

    return _make


@pytest.fixture
def patient(make_patient):
    return make_patient()


@pytest.fixture
def group_session(db, patient, clinician):
    """A scheduled session three days ahead, with `patient` enrolled in its series."""
    from referrals.models import Service
    from visits.models import Enrolment, GroupSeries, GroupSession

    service = Service.objects.get(code="group_programme")
    series = GroupSeries.objects.create(name="Back pain: moving well", service=service,
                                        capacity=10, lead_clinician=clinician,
                                        location="Room 4, Riverside Centre")
    session = GroupSession.objects.create(series=series,
                                          starts_at=timezone.now() + timedelta(days=3),
                                          duration_minutes=90)
    Enrolment.objects.create(series=series, patient=patient, status=Enrolment.Status.ENROLLED)
    return session


# --- a real SMTP server ------------------------------------------------------------------

class CountingHandler:
    """Counts messages by Message-ID, as a receiving server would see them."""

    def __init__(self):
        self.messages = []
        self.by_message_id: dict[str, int] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        with self.arrived:
            self.messages.append((envelope, msg))
            mid = str(msg["Message-ID"])
            self.by_message_id[mid] = self.by_message_id.get(mid, 0) + 1
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, n: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= n, timeout=timeout)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = CountingHandler()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


# --- a real HTTP SMS provider --------------------------------------------------------------

class SmsProvider:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200  # what to answer
        self.by_key: dict[str, int] = {}


@pytest.fixture
def sms_provider():
    provider = SmsProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            provider.requests.append({"json": body, "auth": self.headers.get("Authorization"),
                                      "idempotency": self.headers.get("Idempotency-Key")})
            key = body.get("idempotency_key")
            if provider.status == 200:
                provider.by_key[key] = provider.by_key.get(key, 0) + 1
                payload = json.dumps({"id": f"sms-{len(provider.requests)}"}).encode()
            else:
                payload = b'{"error": "unavailable"}'
            self.send_response(provider.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_sms_settings(settings, sms_provider):
    settings.SMS_BACKEND = "reminders.sms.HttpBackend"
    settings.SMS_HTTP_URL = sms_provider.url
    settings.SMS_HTTP_TOKEN = "test-token"
    settings.SMS_HTTP_TIMEOUT = 5
    return sms_provider
