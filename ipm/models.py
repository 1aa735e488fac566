from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditImmutable(Exception):
    """Audit rows are write-once: no update, no delete through the app."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("Audit rows cannot be changed.")

    def delete(self):
        raise AuditImmutable("Audit rows cannot be deleted.")


class AuditEvent(models.Model):
    """Who did what to which patient data, when, and from where (docs/product.md §5).

    Rows are written once; `hash` chains each sealed row to the previous one (see
    ipm.audit.seal_chain) so that an edit made directly in SQL is detectable.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)  # e.g. "read", "list", "create", "update"
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    # Plain integer, not a foreign key: the trail outlives any change to patient rows.
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    hash = models.CharField(max_length=64, blank=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient_id", "-at"], name="audit_patient_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditImmutable("Audit rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("Audit rows cannot be deleted.")


class QueuedTask(models.Model):
    """A task that could not reach the broker (Redis down). The web request still succeeds;
    ipm.tasks.requeue_tasks sends these once the broker is back, so nothing is lost."""

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
