"""Celery tasks for group programmes. Tasks take ids and call services."""

from celery import shared_task

from . import services


@shared_task(name="visits.tasks.complete_ended_series")
def complete_ended_series() -> int:
    """Hourly (beat): set completion for every series that has ended. Each series is
    claimed under a row lock (`skip_locked`) and only while `completed_at` is unset, so two
    workers or a retry never complete a series twice. Returns how many series were done."""
    done = 0
    for series_id in services.ended_series_due():
        if services.series_complete(series=series_id) is not None:
            done += 1
    return done
