from celery import shared_task

from .audit import seal_all
from .models import AuditEvent
from .queue import requeue_parked


@shared_task(name="ipm.tasks.seal_audit_chain")
def seal_audit_chain() -> int:
    """Seal every committed row not yet sealed; each batch checkpoints the head."""
    return seal_all()


@shared_task(name="ipm.tasks.ping")
def ping(marker_id: int) -> int:
    """Round-trip check used by /healthz-style tests: the worker writes a row we can see."""
    AuditEvent.objects.create(action="worker.ping", object_type="ipm.ping",
                              object_id=str(marker_id), actor_username="celery")
    return marker_id


@shared_task(name="ipm.tasks.requeue_tasks")
def requeue_tasks() -> int:
    return requeue_parked()
