"""A real Celery task travels through Redis to a real worker process, and its effect shows
in the database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from ipm.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


def start_worker(redis_url: str, *extra: str) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.test",
           "CELERY_BROKER_URL": redis_url,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "IPM_WORKER_NOT_EAGER": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipm", "worker", "--loglevel=warning",
         "--concurrency=1", "--without-gossip", "--without-mingle", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_task_in_a_real_worker_over_redis():
    redis_url = os.environ["IPM_TEST_REDIS_URL"]
    worker = start_worker(redis_url)
    try:
        producer = Celery("ipm-test", broker=redis_url, set_as_current=False)
        producer.send_task("ipm.tasks.ping", args=[4242], serializer="json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if AuditEvent.objects.filter(action="worker.ping", object_id="4242").exists():
                break
            time.sleep(0.5)
        assert AuditEvent.objects.filter(action="worker.ping", object_id="4242").exists()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
