"""Background-work benchmarks: program metrics over everything, 10k due reminders
dispatched by one Celery worker (Redis broker), and a whole-program FHIR Bulk Data export
($export of every patient, NDJSON per type) written by one worker (BENCH_EXPORT=0 skips it;
BENCH_EXPORT_TIMEOUT bounds it). Run by bench/run.sh with its environment."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The harness runs outside Django: every import of Django or of the project waits inside the
# job that needs it, after setup_django() (start-up order, not a cycle).
def setup_django():
    import django

    django.setup()

def time_metrics() -> dict:
    """Every docs/product.md §3.6 metric over the whole program (first intake to today), as the API
    computes them live, and the same numbers in hand-written SQL (bench/raw_metrics.py, same
    scope and clock: issue 24's goal is at most 1.2x that); and a full dashboard snapshot
    (period, previous period and weekly trend rows) for the default 30 days, as the worker
    computes it."""

    from django.core.management import call_command
    from django.db.models import Min
    from django.utils import timezone

    from bench.raw_metrics import raw_compute
    from metrics import rollups
    from metrics.definitions import Scope, compute
    from patients.models import Patient

    # The worker's first build of the roll-ups (metrics.rollups), then a refresh with
    # nothing new (what each read pays to know they are current).
    t0 = time.perf_counter()
    rollups.rebuild()
    rollups_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    rollups.refresh()
    rollups_refresh = time.perf_counter() - t0
    first = Patient.objects.aggregate(d=Min("intake_date"))["d"] or timezone.localdate()
    scope = Scope(first, timezone.localdate())
    # Both read the same tables: one untimed pass first, so neither timing pays for a cold
    # cache the other one warmed.
    raw_compute(scope.start, scope.end, scope.now)
    t0 = time.perf_counter()
    values = compute(scope)
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = raw_compute(scope.start, scope.end, scope.now)
    raw_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    call_command("compute_metrics", stdout=open(os.devnull, "w"))
    snapshot = time.perf_counter() - t0
    return {"rollups_full_build_s": round(rollups_build, 1),
            "rollups_refresh_unchanged_s": round(rollups_refresh, 3),
            "metrics_whole_program_s": round(whole, 2),
            "metrics_raw_sql_s": round(raw_s, 2),
            "metrics_to_raw_sql_ratio": round(whole / raw_s, 2) if raw_s else None,
            # A ratio against different numbers would mean nothing: say whether they agree.
            "metrics_raw_equal": raw == values,
            "metrics_raw_differ": sorted(k for k in values if raw.get(k) != values[k]),
            "metrics_range_days": (scope.end - scope.start).days + 1,
            "metrics_snapshot_30d_with_trends_s": round(snapshot, 2)}

def time_dispatch(n: int = 10_000) -> dict:
    from django.db import connection
    from django.utils import timezone

    from reminders.models import Reminder

    now = timezone.now()
    with connection.cursor() as cur:
        # Make n reminders due now: reuse pending session reminders, re-arming sent ones.
        cur.execute("""
            UPDATE reminders_reminder SET status = 'pending', scheduled_for = %s, attempts = 0,
                   claimed_at = NULL, sent_at = NULL, reason = '', last_error = ''
            WHERE id IN (SELECT id FROM reminders_reminder WHERE kind = 'group_session'
                         ORDER BY id LIMIT %s)""", [now, n])
    due = Reminder.objects.filter(status="pending", scheduled_for__lte=now).count()
    env = {**os.environ}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipm", "worker", "--loglevel=warning",
         "--concurrency=2", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from celery import Celery

        Celery("bench", broker=os.environ["CELERY_BROKER_URL"], set_as_current=False).send_task(
            "reminders.tasks.dispatch_due")
        t0 = time.perf_counter()
        deadline = t0 + 300
        while time.perf_counter() < deadline:
            left = Reminder.objects.filter(status__in=["pending", "sending"],
                                           scheduled_for__lte=now).count()
            if left == 0:
                break
            time.sleep(0.5)
        took = time.perf_counter() - t0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    sent = Reminder.objects.filter(scheduled_for=now, status="sent").count()
    return {"dispatch_due": due, "dispatch_s": round(took, 1), "dispatch_sent": sent,
            "dispatch_left": left, "dispatch_per_s": round(due / took, 1) if took else None}

def time_export() -> dict:
    """The Bulk Data kick-off as a clinician who works at every site (so every patient is
    exported), run by one Celery worker; from queued to done, with what it wrote. The files
    are deleted afterwards. BENCH_EXPORT_TIMEOUT (seconds, default 3600) bounds the wait: a
    job still running then is cancelled (the worker stops at its next chunk) and reported
    with how far it got."""
    import shutil

    from django.contrib.auth.models import User
    from django.db import transaction

    from fhir_api.bulk import export_dir
    from fhir_api.exports import export_cancel, export_request
    from fhir_api.models import ExportJob
    from patients.models import Patient, Site

    user = User.objects.get(username="bench")
    for site in Site.objects.all():
        site.staff.add(user)
    patients = Patient.objects.count()
    timeout = float(os.environ.get("BENCH_EXPORT_TIMEOUT", "3600"))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipm", "worker", "--loglevel=warning",
         "--concurrency=1", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    job = None
    try:
        t0 = time.perf_counter()
        with transaction.atomic():
            job = export_request(user=user, kind=ExportJob.Kind.BULK,
                                 params={"level": "system", "types": None, "since": None,
                                         "request": "bench:$export"})
        while time.perf_counter() < t0 + timeout:
            job.refresh_from_db()
            if job.is_finished:
                break
            time.sleep(1)
        took = time.perf_counter() - t0
    finally:
        timed_out = job is not None and not job.is_finished
        if timed_out:  # else a warm shutdown would wait for the whole export
            export_cancel(job=job, user=user)
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    directory = export_dir(job)
    size = sum(f.stat().st_size for f in directory.glob("*.ndjson")) if directory.exists() else 0
    shutil.rmtree(directory, ignore_errors=True)
    resources = sum(f["count"] for f in job.files or [])
    return {"export_patients": patients,
            "export_status": "timeout" if timed_out else job.status,
            "export_s": round(took, 1), "export_resources": resources,
            "export_mb": round(size / 1e6, 1), "export_progress": job.progress,
            "export_resources_per_s": round(resources / took, 1) if took else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    setup_django()
    out = {}
    runs = [time_metrics, time_dispatch]
    if os.environ.get("BENCH_EXPORT", "1") != "0":  # BENCH_EXPORT=0: skip the export
        runs.append(time_export)
    else:
        out["export_skipped"] = True
    for fn in runs:
        try:
            out.update(fn())
        except Exception as exc:  # noqa: BLE001 - report which job could not run
            out[fn.__name__ + "_error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out, indent=2))
    Path(args.out).write_text(json.dumps(out, indent=2))

if __name__ == "__main__":
    main()
