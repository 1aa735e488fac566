"""Fault tolerance: the web keeps working when the broker (Redis) is down, and the work it
could not queue goes out when Redis is back."""

import shutil
import socket
import subprocess
import time

import pytest
import redis

from ipm.celery import app as celery_app
from ipm.models import QueuedTask
from ipm.queue import requeue_parked
from reminders.models import Reminder
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, so stopping it disturbs nobody else."""

    def __init__(self):
        self.port = _free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def queued(self, queue="celery") -> int:
        return redis.Redis(port=self.port).llen(queue)


def reset_broker_connections():
    """Drop Celery's cached connection and producer pools so the next send reconnects."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(settings):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    # Read Celery's config before touching Django settings: it loads lazily from them.
    old = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    server = PrivateRedis()
    server.start()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    reset_broker_connections()
    yield server
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = old
    reset_broker_connections()
    if server.proc.poll() is None:
        server.stop()


@pytest.mark.redis
def test_a_request_succeeds_while_redis_is_down_and_its_task_goes_out_when_it_returns(
        private_redis, admin_user, client, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    private_redis.stop()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/metrics/snapshots/", {"from": "2025-02-01", "to": "2025-02-28"})
    assert r.status_code == 302, r.content
    assert time.monotonic() - started < 10          # failed fast, did not hang
    parked = QueuedTask.objects.get()
    assert parked.name == "metrics.tasks.compute_snapshot" and parked.sent_at is None
    assert requeue_parked() == 0, parked.error       # still down: stays parked
    private_redis.start()
    assert requeue_parked() == 1, parked.error
    assert private_redis.queued() == 1
    parked.refresh_from_db()
    assert parked.sent_at is not None


@pytest.mark.redis
def test_a_safety_alert_notification_needs_no_broker(
        private_redis, api, django_capture_on_commit_callbacks):
    """Changed on purpose (issue 17): the notification was a task parked while Redis was
    down; it is now an outbox row written with the alert, which dispatch sends later."""
    r = api.post("/api/patients/", {"mrn": "F-1", "given_name": "Fay", "family_name": "Ult",
                                    "birth_date": "1980-01-01"}, format="json")
    patient = r.json()["id"]
    private_redis.stop()
    phq9 = {f"q{i}": 0 for i in range(1, 10)} | {"q9": 2}
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/responses/", {"patient": patient, "instrument": "phq9",
                                         "answers": phq9}, format="json")
    assert r.status_code == 201, r.content
    assert not QueuedTask.objects.exists()           # nothing had to wait for Redis
    rows = Reminder.objects.filter(kind="safety_alert")  # email and SMS (issue 19)
    assert {(row.status, row.target_id) for row in rows} == {
        ("pending", r.json()["alerts"][0]["id"])}
    assert sorted(row.channel for row in rows) == ["email", "sms"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_due_reminder_waits_out_a_redis_outage_and_a_real_worker_sends_it_after(settings):
    """The worker keeps running through the outage, the reminder row waits in the outbox
    (PostgreSQL), and the dispatch that could not be queued goes out when Redis is back."""
    from django.utils import timezone

    from ipm.queue import enqueue
    from reminders.models import Reminder
    from reminders.services import reminder_schedule
    from reminders.tasks import dispatch_due
    from tests.ipm.test_worker import start_worker

    old = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    server = PrivateRedis()
    server.start()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = server.url, False
    reset_broker_connections()
    worker = start_worker(server.url)
    try:
        clinician = make_user("rita", "clinician")
        clinician.email = "rita@example.org"
        clinician.save()
        server.stop()                                          # Redis goes away
        row = reminder_schedule(kind="consent_revoked", target_type="patient", target_id=1,
                                recipient_user=clinician, channel="email",
                                scheduled_for=timezone.now())
        assert enqueue(dispatch_due) is False                  # parked, not lost
        assert worker.poll() is None                           # the worker is still up
        server.start()                                         # Redis is back
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            requeue_parked()
            row.refresh_from_db()
            if row.status == Reminder.Status.SENT:
                break
            time.sleep(1)
        assert row.status == Reminder.Status.SENT, (row.status, row.reason, row.last_error)
        assert row.attempts == 1
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = old
        reset_broker_connections()
        if server.proc.poll() is None:
            server.stop()
