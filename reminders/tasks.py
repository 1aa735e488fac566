"""Celery tasks for the outbox. They take no patient data: the dispatcher reads due rows
from the database itself (see reminders/dispatch.py for the at-most-once design)."""

from celery import shared_task

from . import dispatch


@shared_task(name="reminders.tasks.dispatch_due")
def dispatch_due(helper: bool = False) -> dict:
    """One dispatch pass; beat runs it every 60 s (ipm/settings/base.py).

    With a backlog of more than one batch, the beat-started pass first fans out up to
    REMINDERS_PARALLEL_PASSES - 1 helper passes, so every worker process shares the work
    (claims are disjoint: SELECT ... FOR UPDATE SKIP LOCKED). A pass that runs out of its
    time budget with rows still due queues the next pass itself. Helpers do neither, so
    the number of passes stays bounded."""
    if not helper:
        for _ in range(dispatch.helpers_wanted()):
            dispatch_due.apply_async(kwargs={"helper": True})
    result = dispatch.dispatch_due()
    if result.get("more") and not helper:
        dispatch_due.apply_async()
    return result
