"""Celery tasks for metrics. Beat runs `compute_snapshot` daily at 01:00 (see
CELERY_BEAT_SCHEDULE) for the 30 days ending yesterday; the dashboard queues it on demand
with a snapshot id. `refresh_rollups` keeps the responder roll-ups current (every 5 minutes)."""

from celery import shared_task

from . import rollups, services


@shared_task(name="metrics.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> None:
    """Bring the responder roll-ups up to date (the first run builds them whole)."""
    if rollups.enabled():
        rollups.refresh()


@shared_task(name="metrics.tasks.compute_snapshot", ignore_result=True)
def compute_snapshot(snapshot_id: int | None = None) -> int:
    """Compute snapshot `snapshot_id`, or without one the daily scheduled snapshot."""
    if snapshot_id is None:
        snapshot_id = services.snapshot_daily().pk
    services.snapshot_compute(snapshot_id=snapshot_id)
    return snapshot_id
