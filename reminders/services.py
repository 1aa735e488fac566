"""The outbox's write path. Features schedule and cancel reminders only through these."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Reminder


def reminder_key(kind: str, target_type: str, target_id, recipient: str, offset: str) -> str:
    return f"{kind}:{target_type}:{target_id}:{recipient}:{offset}"


def reminder_schedule(*, kind: str, scheduled_for, channel: str, offset: str = "0",
                      target_type: str = "", target_id=None, patient=None,
                      recipient_user=None) -> Reminder | None:
    """Create the outbox row for one reminder unless its key exists already (idempotent).
    Returns the row, new or existing."""
    recipient = f"p{patient.pk}" if patient is not None else f"u{getattr(recipient_user, 'pk', '')}"
    key = reminder_key(kind, target_type, target_id, recipient, offset)
    try:
        with transaction.atomic():
            return Reminder.objects.create(
                key=key, kind=kind, target_type=target_type, target_id=target_id,
                patient=patient, recipient_user=recipient_user, channel=channel,
                scheduled_for=scheduled_for,
            )
    except IntegrityError:
        return Reminder.objects.filter(key=key).first()


def reminders_cancel(*, target_type: str | None = None, target_id=None, patient=None,
                     kind: str | None = None, reason: str = Reminder.Reason.NO_LONGER_NEEDED) -> int:
    """Cancel pending reminders for a target and/or patient. Returns how many."""
    qs = Reminder.objects.filter(status=Reminder.Status.PENDING)
    if target_type is not None:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    if patient is not None:
        qs = qs.filter(patient=patient)
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.update(status=Reminder.Status.CANCELLED, reason=reason, updated_at=timezone.now())
