"""The snapshot task: daily by beat, on demand with an id; claimed once; failures recorded."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from ipm.celery import app
from metrics import definitions, services
from metrics.definitions import Scope
from metrics.models import MetricSnapshot
from metrics.tasks import compute_snapshot

from .conftest import FEB_END, FEB_START


def feb_snapshot(**fields) -> MetricSnapshot:
    return MetricSnapshot.objects.create(period_start=FEB_START, period_end=FEB_END, **fields)


def test_it_is_registered_under_its_beat_name_and_runs_daily_at_one():
    assert "metrics.tasks.compute_snapshot" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["metrics-daily-snapshot"]
    assert entry["task"] == "metrics.tasks.compute_snapshot"
    assert entry["schedule"] == crontab(hour=1, minute=0)


def test_it_computes_values_previous_period_and_weekly_series(feb_program):
    snapshot = feb_snapshot()
    assert compute_snapshot(snapshot.pk) == snapshot.pk
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.progress, snapshot.error) == ("done", 100, "")
    assert snapshot.computed_at is not None
    assert snapshot.values["responders"]["peg"] == 50.0
    assert snapshot.values["new_intakes"] == 3
    assert snapshot.previous_values["new_intakes"] == 0  # 4-31 January
    assert set(snapshot.values) == set(definitions.METRICS)
    weeks = [(w["week_start"], w["week_end"]) for w in snapshot.series]
    assert weeks == [("2025-02-01", "2025-02-02"), ("2025-02-03", "2025-02-09"),
                     ("2025-02-10", "2025-02-16"), ("2025-02-17", "2025-02-23"),
                     ("2025-02-24", "2025-02-28")]
    assert [w["new_intakes"] for w in snapshot.series] == [3, 0, 0, 0, 0]  # Sunday 2 Feb
    assert set(snapshot.series[0]) == {"week_start", "week_end", *definitions.trend_keys()}


def test_it_reports_progress_while_it_runs(feb_program, monkeypatch):
    seen = []
    real = services.compute_payload

    def spy(scope, on_progress=None):
        def record(pct):
            on_progress(pct)
            seen.append(MetricSnapshot.objects.values_list("progress", flat=True).get())
        return real(scope, on_progress=record)

    monkeypatch.setattr(services, "compute_payload", spy)
    compute_snapshot(feb_snapshot().pk)
    assert seen == sorted(seen) and len(seen) > 10
    assert 0 < seen[0] < seen[-1] <= 99


def test_it_makes_the_daily_snapshot_once_for_the_30_days_ending_yesterday(db):
    first = compute_snapshot()
    again = compute_snapshot()
    assert first == again
    snapshot = MetricSnapshot.objects.get()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert (snapshot.period_start, snapshot.period_end) == (yesterday - dt.timedelta(days=29),
                                                            yesterday)
    assert (snapshot.trigger, snapshot.service, snapshot.status) == ("schedule", None, "done")


def test_it_does_not_recompute_a_finished_or_claimed_snapshot(feb_program):
    snapshot = feb_snapshot()
    services.snapshot_compute(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert services.snapshot_compute(snapshot_id=snapshot.pk) is None
    claimed = feb_snapshot(status="running", started_at=timezone.now())
    assert services.snapshot_compute(snapshot_id=claimed.pk) is None
    assert MetricSnapshot.objects.get(pk=snapshot.pk).computed_at == snapshot.computed_at


def test_it_reclaims_a_run_whose_worker_died(feb_program):
    stale = feb_snapshot(status="running", progress=30,
                         started_at=timezone.now() - dt.timedelta(hours=2))
    assert services.snapshot_compute(snapshot_id=stale.pk).status == "done"


def test_it_records_a_failure_on_the_snapshot(feb_program, monkeypatch):
    def broken(scope):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(definitions.METRICS, "nps",
                        definitions.METRICS["nps"].__class__(
                            **{**definitions.METRICS["nps"].__dict__, "compute": broken}))
    snapshot = services.snapshot_compute(snapshot_id=feb_snapshot().pk)
    assert snapshot.status == "failed"
    assert snapshot.error == "RuntimeError: the database went away"


def test_it_queues_the_task_only_after_the_request_commits(
        admin_user, feb_program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        snapshot = services.snapshot_request(scope=Scope(FEB_START, FEB_END), actor=admin_user)
    assert snapshot.status == "pending" and len(callbacks) == 1
    callbacks[0]()
    snapshot.refresh_from_db()
    assert snapshot.status == "done"


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_it_computes_an_on_demand_snapshot_in_a_real_worker(admin_user):
    """The dashboard's button through Redis to a real worker process."""
    from celery import Celery

    redis_url = os.environ["IPM_TEST_REDIS_URL"]
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.test",
           "CELERY_BROKER_URL": redis_url, "IPM_WORKER_NOT_EAGER": "1",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipm", "worker", "--loglevel=warning",
         "--concurrency=1", "--without-gossip", "--without-mingle", "-Q", "celery"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        snapshot = feb_snapshot(requested_by=admin_user)
        Celery("ipm-test", broker=redis_url, set_as_current=False).send_task(
            "metrics.tasks.compute_snapshot", args=[snapshot.pk], serializer="json")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            snapshot.refresh_from_db()
            if snapshot.is_finished:
                break
            time.sleep(0.5)
        assert snapshot.status == "done", snapshot.error
        assert set(snapshot.values) == set(definitions.METRICS)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
