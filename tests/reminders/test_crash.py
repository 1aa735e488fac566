"""At most once, for real: a Celery worker on Redis is killed (SIGKILL, the whole process
group) in the middle of a batch and started again; every due reminder arrives at a real
SMTP server exactly once, counted by Message-ID."""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from reminders.channels import message_id
from reminders.models import Reminder

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
N = 8


def start_worker(redis_url: str, smtp_port: int, log_path: Path, **knobs) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": "reminders_worker_settings",
           "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
           "CELERY_BROKER_URL": redis_url,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "IPM_TEST_SMTP_PORT": str(smtp_port),
           **{k: str(v) for k, v in knobs.items()}}
    log = log_path.open("ab")
    # Its own session, so the kill takes the pool's child processes down too.
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipm", "worker", "--loglevel=info",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait(timeout=20)


def due_reminders(n: int) -> list[Reminder]:
    from patients.services import patient_create
    from reminders.services import reminder_schedule
    from visits.models import Enrolment, GroupSeries, GroupSession

    series = GroupSeries.objects.create(name="Series", capacity=20,
                                        service=group_service())
    session = GroupSession.objects.create(series=series,
                                          starts_at=timezone.now() + timedelta(days=2))
    rows = []
    for i in range(n):
        patient = patient_create(mrn=f"CRASH{i}", given_name="Kim", family_name=f"Crash{i}",
                                 birth_date=date(1980, 1, 1), email=f"kim{i}@example.org",
                                 preferred_channel="email", consent_to_contact=True)
        Enrolment.objects.create(series=series, patient=patient, status="enrolled")
        rows.append(reminder_schedule(
            kind="group_session", target_type="group_session", target_id=session.pk,
            patient=patient, offset="48h",
            scheduled_for=timezone.now() - timedelta(minutes=1, seconds=i)))
    return rows


def group_service():
    """Transactional tests flush the database after themselves, seeded services included."""
    from referrals.models import Service

    return Service.objects.get_or_create(
        code="group_programme", defaults={"name": "Group programme", "discipline": "MDT",
                                          "sla_triage_days": 14, "sla_first_visit_days": 42,
                                          "is_group_based": True})[0]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_delivers_every_due_reminder_exactly_once_when_a_worker_is_killed_mid_batch(
        smtp_server, tmp_path):
    import redis

    redis_url = os.environ["IPM_TEST_REDIS_URL"]
    redis.Redis.from_url(redis_url).flushdb()  # no stale tasks from an earlier run
    rows = due_reminders(N)
    producer = Celery("ipm-test", broker=redis_url, set_as_current=False)
    log = tmp_path / "worker.log"
    workers = []
    try:
        # A slow worker: 1 s of "work" per reminder before it reaches the provider.
        workers.append(start_worker(redis_url, smtp_server.port, log,
                                    REMINDERS_SEND_DELAY_SECONDS=1,
                                    REMINDERS_VISIBILITY_SECONDS=2))
        producer.send_task("reminders.tasks.dispatch_due", serializer="json")
        assert smtp_server.wait_for(3, timeout=90), log.read_text()
        # Once the third is recorded as sent, the worker is in the next row's delay:
        # that row and the rest of the batch are claimed but not handed over yet.
        deadline = time.monotonic() + 10
        while (Reminder.objects.filter(status="sent").count() < 3
               and time.monotonic() < deadline):
            time.sleep(0.02)
        kill(workers[0])

        delivered_before = len(smtp_server.messages)
        assert 3 <= delivered_before < N
        stuck = Reminder.objects.filter(status="sending")
        assert stuck.count() == N - delivered_before  # the rest of the batch, still claimed
        assert not stuck.filter(attempt_started_at__isnull=False).exists()

        # Started again; beat would run the pass every minute, the test every 2 s.
        workers.append(start_worker(redis_url, smtp_server.port, log,
                                    REMINDERS_VISIBILITY_SECONDS=2))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Reminder.objects.filter(status="sent").count() == N:
                break
            producer.send_task("reminders.tasks.dispatch_due", serializer="json")
            time.sleep(2)
        smtp_server.wait_for(N, timeout=10)
    finally:
        for worker in workers:
            kill(worker)

    statuses = dict(Reminder.objects.values_list("pk", "status"))
    assert set(statuses.values()) == {"sent"}, (statuses, log.read_text()[-3000:])
    expected = {message_id(r.key) for r in rows}
    assert smtp_server.by_message_id == {mid: 1 for mid in expected}
    assert len(smtp_server.messages) == N
