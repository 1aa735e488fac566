"""Queue Celery tasks without letting a broker outage break the request.

`enqueue(task, *args)` sends at once when the broker answers; otherwise it stores the task
in QueuedTask (same database transaction as the caller's work, when called inside one) and
`ipm.tasks.requeue_tasks` (beat, every minute) sends it when the broker is back.
Use `enqueue_on_commit` from services so the task only exists if the data does.
"""

import logging

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> bool:
    """Send now if possible (True); otherwise park it for requeue (False)."""
    from django.conf import settings

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        task.apply(args=args, kwargs=kwargs)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure: park the task
        from .models import QueuedTask

        log.warning("broker unavailable, parking task %s: %s", task.name, type(exc).__name__)
        QueuedTask.objects.create(name=task.name, args=list(args), kwargs=kwargs,
                                  error=f"{type(exc).__name__}: {exc}"[:1000])
        return False


def enqueue_on_commit(task, *args, **kwargs) -> None:
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))


def requeue_parked(limit: int = 500) -> int:
    """Send parked tasks in order; stop at the first failure (broker still down)."""
    from .celery import app
    from .models import QueuedTask

    sent = 0
    for qt in QueuedTask.objects.filter(sent_at__isnull=True).order_by("id")[:limit]:
        try:
            app.send_task(qt.name, args=qt.args, kwargs=qt.kwargs, retry=False)
        except Exception:  # noqa: BLE001
            break
        QueuedTask.objects.filter(pk=qt.pk, sent_at__isnull=True).update(sent_at=timezone.now())
        sent += 1
    return sent
