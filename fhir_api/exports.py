"""Export requests (the web side of ``bulk``): ask for a job (audited, queued to the worker
on commit), cancel one, and the letters batch with its checks."""

from __future__ import annotations

import shutil

from django.db import transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput, NotFound
from ipm.queue import enqueue_on_commit
from patients.models import Patient

from . import letters
from .bulk import Status, export_dir
from .models import ExportJob
from .tasks import export_run_task


@transaction.atomic
def export_request(*, user, kind: str, params: dict) -> ExportJob:
    job = ExportJob.objects.create(kind=kind, requested_by=user, params=params)
    audit_record(actor=user, action=f"export.requested:{kind}", obj=job,
                 detail={k: v for k, v in params.items() if k != "request"})
    enqueue_on_commit(export_run_task, str(job.pk))
    return job


@transaction.atomic
def export_cancel(*, job: ExportJob, user) -> ExportJob:
    """Stop a job (the worker checks between chunks) and delete its files."""
    locked = ExportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status in (Status.CANCELLED, Status.EXPIRED):
        raise Conflict("This export is already cancelled or expired.",
                       {"status": [locked.status]})
    locked.status = Status.CANCELLED
    locked.finished_at = locked.finished_at or timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    audit_record(actor=user, action="export.cancelled", obj=locked)
    transaction.on_commit(lambda: shutil.rmtree(export_dir(locked), ignore_errors=True))
    return locked


def letters_request(*, user, kind: str, patient_ids: list[int]) -> ExportJob:
    if kind not in letters.KINDS:
        raise InvalidInput(f"Unknown letter '{kind}'.", {"kind": ["Use 'intake' or 'discharge'."]})
    ids = sorted(set(patient_ids))
    if not ids:
        raise InvalidInput("Name at least one patient.", {"patients": ["Required."]})
    visible = set(Patient.objects.visible_to(user).filter(pk__in=ids).values_list("pk",
                                                                                   flat=True))
    missing = [i for i in ids if i not in visible]
    if missing:  # unknown, or at a site the user does not work at: the same answer
        raise NotFound("Unknown patients.", {"patients": [f"No patient {i}." for i in
                                                          missing[:20]]})
    return export_request(user=user, kind=ExportJob.Kind.LETTERS,
                          params={"kind": kind, "patients": ids})


