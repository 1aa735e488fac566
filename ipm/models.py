from django.conf import settings
from django.db import models
from django.utils import timezone

from .redact import redact


class AuditImmutable(Exception):
    """Audit rows are write-once: no update, no delete through the app."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("Audit rows cannot be changed.")

    def delete(self):
        raise AuditImmutable("Audit rows cannot be deleted.")


class AuditEvent(models.Model):
    """Who did what to which patient data, when, and from where (docs/product.md §5).

    Rows are written once. Sealing (ipm.audit.seal_chain) sets `seal_seq` and `hash` once:
    the rows in the order they were sealed, each HMAC-chained to the previous one, so an
    edit, a removal or a re-hash is detectable. On PostgreSQL a trigger (migration 0003)
    refuses DELETE and any UPDATE other than that one sealing write.
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
    # Position in the chain, assigned at seal time under a lock (NULL until sealed).
    seal_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_patient_at"),
            # The sealer's and the verifier's "still unsealed" scan stays small.
            models.Index(fields=["id"], condition=models.Q(seal_seq__isnull=True),
                         name="audit_unsealed"),
        ]
        constraints = [
            # Sealed means both fields set; unsealed means neither.
            models.CheckConstraint(
                condition=(models.Q(seal_seq__isnull=True, hash="")
                           | (models.Q(seal_seq__gt=0) & ~models.Q(hash=""))),
                name="audit_seal_fields_together",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditImmutable("Audit rows cannot be changed.")
        # Never store a link token or a search term (/q/<token>/ -> /q/***/): whoever reads
        # the trail must not be able to answer as the patient.
        self.path = redact(self.path or "")[:500]
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
