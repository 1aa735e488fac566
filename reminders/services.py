"""The outbox's write path. Features schedule and cancel reminders only through these;
coordinators resend through `reminder_resend`; patients stop them through
`patient_reminders_stop` (the stop link)."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict
from patients.services import patient_consent_revoke

from .models import Reminder

PATIENT_KINDS = (Reminder.Kind.GROUP_SESSION, Reminder.Kind.QUESTIONNAIRE_DUE,
                 Reminder.Kind.APPOINTMENT)


def reminder_key(kind: str, target_type: str, target_id, recipient: str, offset: str) -> str:
    return f"{kind}:{target_type}:{target_id}:{recipient}:{offset}"


def reminder_schedule(*, kind: str, scheduled_for, channel: str = "", offset: str = "0",
                      target_type: str = "", target_id=None, patient=None,
                      recipient_user=None, rearm: bool = False) -> Reminder | None:
    """Create the outbox row for one reminder unless its key exists already (idempotent).
    Returns the row, new or existing. With `rearm`, an existing row that was never sent is
    made pending again at `scheduled_for` (a moved session, a person who enrols again).

    The key is kind:target_type:target_id:recipient:offset, the recipient being the staff
    user when one is given (staff-directed kinds), else the patient. `channel` defaults to
    the patient's preferred channel (email for staff); patient reminders go out on the
    channel preferred at send time anyway."""
    if recipient_user is not None:
        recipient = f"u{recipient_user.pk}"
    else:
        recipient = f"p{getattr(patient, 'pk', '')}"
    if not channel:
        preferred = getattr(patient, "preferred_channel", "") if recipient_user is None else ""
        channel = preferred if preferred in Reminder.Channel.values else Reminder.Channel.EMAIL
    key = reminder_key(kind, target_type, target_id, recipient, offset)
    try:
        with transaction.atomic():
            return Reminder.objects.create(
                key=key, kind=kind, target_type=target_type, target_id=target_id,
                patient=patient, recipient_user=recipient_user, channel=channel,
                scheduled_for=scheduled_for,
            )
    except IntegrityError:
        row = Reminder.objects.filter(key=key).first()
    if rearm:
        _rearm(row, scheduled_for)
    return row


def _rearm(row: Reminder | None, scheduled_for) -> None:
    """Bring an existing, never-sent row (pending or cancelled) back to pending at
    `scheduled_for`, with one conditional UPDATE; a row that was sent stays sent, so the
    at-most-once promise of the outbox holds."""
    if row is None or (row.status == Reminder.Status.PENDING
                       and row.scheduled_for == scheduled_for):
        return
    Reminder.objects.filter(
        pk=row.pk, status__in=[Reminder.Status.PENDING, Reminder.Status.CANCELLED],
    ).update(status=Reminder.Status.PENDING, reason="", scheduled_for=scheduled_for,
             updated_at=timezone.now())


def reminders_cancel(*, target_type: str | None = None, target_id=None, patient=None,
                     kind: str | None = None, reason: str = Reminder.Reason.NO_LONGER_NEEDED,
                     kinds: Iterable[str] | None = None,
                     target_ids: Iterable[int] | None = None) -> int:
    """Cancel pending reminders for a target and/or patient. Returns how many.

    `kinds` and `target_ids` narrow to several kinds or targets at once (e.g. a withdrawn
    enrolment: kind group_session, every session of the series, that patient). A reminder
    already being sent is not touched here; its eligibility is checked again right before
    sending, so it is dropped then with reason `no_longer_needed`."""
    qs = Reminder.objects.filter(status=Reminder.Status.PENDING)
    if target_type is not None:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    if target_ids is not None:
        qs = qs.filter(target_id__in=list(target_ids))
    if patient is not None:
        qs = qs.filter(patient=patient)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return qs.update(status=Reminder.Status.CANCELLED, reason=reason, updated_at=timezone.now())


@transaction.atomic
def reminder_resend(*, reminder: Reminder | int, actor) -> Reminder:
    """A failed or cancelled reminder goes back to `pending`, due now, attempts reset.
    Eligibility (consent, address, still needed) is checked again when it is sent.
    A sent reminder is never sent again (409)."""
    pk = reminder.pk if isinstance(reminder, Reminder) else reminder
    row = Reminder.objects.select_for_update().get(pk=pk)
    if not row.can_resend:
        raise Conflict(f"Only failed or cancelled reminders can be resent; this one is "
                       f"{row.status}.", {"status": [f"Reminder is {row.status}."]})
    previous = {"status": row.status, "reason": row.reason, "attempts": row.attempts,
                "last_error": row.last_error[:200]}
    now = timezone.now()
    row.status = Reminder.Status.PENDING
    row.reason = ""
    row.last_error = ""
    row.attempts = 0
    row.scheduled_for = now
    row.claim_token = None
    row.claimed_at = None
    row.attempt_started_at = None
    row.save(update_fields=["status", "reason", "last_error", "attempts", "scheduled_for",
                            "claim_token", "claimed_at", "attempt_started_at", "updated_at"])
    audit_record(actor=actor, action="reminder.resend", obj=row,
                 detail={"kind": row.kind, "previous": previous})
    return row


@transaction.atomic
def patient_reminders_stop(*, patient_id: int, source: str = "stop_link") -> bool:
    """The patient asked to stop reminders: revoke consent to contact (patients.services),
    cancel their pending patient reminders (reason no_consent) and tell their clinician (or,
    without one, the program's clinical lead). Idempotent: returns False when consent was
    already revoked."""
    patient, changed = patient_consent_revoke(patient_id=patient_id, source=source)
    if not changed:
        return False
    cancelled = reminders_cancel(patient=patient, kinds=PATIENT_KINDS,
                                 reason=Reminder.Reason.NO_CONSENT)
    notify = patient.clinician or patient.program.clinical_lead
    if notify is not None:
        now = patient.consent_revoked_at
        reminder_schedule(kind=Reminder.Kind.CONSENT_REVOKED, scheduled_for=now,
                          channel=Reminder.Channel.EMAIL, target_type="patient",
                          target_id=patient.pk, patient=patient, recipient_user=notify,
                          offset=str(int(now.timestamp())))
    audit_record(actor=None, action="reminders.stopped", obj=patient,
                 detail={"source": source, "reminders_cancelled": cancelled,
                         "notified_user": getattr(notify, "pk", None)})
    return True
