"""Queue Celery tasks without letting a broker outage break the request.

`enqueue(task, *args)` sends at once when the broker answers; otherwise it stores the task
in QueuedTask (same database transaction as the caller's work, when called inside one) and
`ipm.tasks.requeue_tasks` (beat, every minute) sends it when the broker is back.
Services use `enqueue_on_commit("app.tasks.name", id)` so the task only exists if the data
does. A task is named by its registered name, so a service never imports its own app's
tasks module (which imports the service: a circle).
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .celery import app
from .models import QueuedTask

log = logging.getLogger(__name__)


def _task(task_or_name):
    """The task object for a task or its registered name (tasks modules are discovered
    the first time a name is not known yet, as the worker does at start-up)."""
    if not isinstance(task_or_name, str):
        return task_or_name
    if task_or_name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[task_or_name]


def enqueue(task, *args, **kwargs) -> bool:
    """Send now if possible (True); otherwise park it for requeue (False). `task` is a
    task or its registered name."""
    task = _task(task)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        task.apply(args=args, kwargs=kwargs)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure: park the task
        log.warning("broker unavailable, parking task %s: %s", task.name, type(exc).__name__)
        QueuedTask.objects.create(name=task.name, args=list(args), kwargs=kwargs,
                                  error=f"{type(exc).__name__}: {exc}"[:1000])
        return False


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue `task` (or its registered name) once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))


def requeue_parked(limit: int = 500) -> int:
    """Send parked tasks in order; stop at the first failure (broker still down)."""
    sent = 0
    for qt in QueuedTask.objects.filter(sent_at__isnull=True).order_by("id")[:limit]:
        try:
            app.send_task(qt.name, args=qt.args, kwargs=qt.kwargs, retry=False)
        except Exception:  # noqa: BLE001
            break
        QueuedTask.objects.filter(pk=qt.pk, sent_at__isnull=True).update(sent_at=timezone.now())
        sent += 1
    return sent
