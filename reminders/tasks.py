"""Celery tasks for the outbox. They take no patient data: the dispatcher reads due rows
from the database itself (see reminders/dispatch.py for the at-most-once design)."""

from celery import shared_task

from . import dispatch


@shared_task(name="reminders.tasks.dispatch_due")
def dispatch_due() -> dict:
    """One dispatch pass; beat runs it every 60 s (ipm/settings/base.py). Several workers
    may run it at once: claims are disjoint (SELECT ... FOR UPDATE SKIP LOCKED)."""
    return dispatch.dispatch_due()
