"""Export jobs run by the worker: FHIR Bulk Data exports (NDJSON per resource type), the
de-identified cohort CSV for admins, and batches of letters (PDF). The files live under
``settings.IPM_EXPORT_DIR/<job id>/`` until the job expires; a periodic task deletes them
with the row's files list (the row stays, as the audit trail's anchor)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        BULK = "bulk", "FHIR bulk export (NDJSON)"
        COHORT = "cohort", "De-identified cohort (CSV)"
        LETTERS = "letters", "Letters (PDF)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    # A random id: the status URL names it, and it must not be guessable from another's.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    # What was asked: {"level": "system"|"patient", "types": [...], "since": iso,
    # "request": url} for bulk; {"kind": "discharge", "patients": [ids]} for letters.
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    files = models.JSONField(default=list, blank=True)  # [{"type", "name", "count"}]
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="exportjob_expiry")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100),
                                   name="exportjob_progress_percent"),
        ]

    def __str__(self):
        return f"{self.kind} export {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED,
                               self.Status.EXPIRED)
