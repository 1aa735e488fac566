"""Demo outbox rows: a few pending, sent, failed and cancelled reminders, so the
/reminders/ page has something to show on a first look."""

from datetime import timedelta

from django.utils import timezone

from .models import Reminder
from .services import reminder_schedule

S, R, K = Reminder.Status, Reminder.Reason, Reminder.Kind


def populate(ctx: dict) -> None:
    patients = list(ctx.get("patients") or [])
    users = ctx.get("users") or {}
    clinician = users.get("clinician")
    coordinator = users.get("coordinator")
    if not patients:
        return
    now = timezone.now()

    def row(i, kind, *, status, offset, when, channel="", user=None, reason="", error="",
            attempts=0, provider_id=""):
        patient = patients[i % len(patients)]
        r = reminder_schedule(kind=kind, scheduled_for=when, channel=channel,
                              target_type="demo", target_id=patient.pk, patient=patient,
                              recipient_user=user, offset=offset)
        if status == S.PENDING:
            return r
        Reminder.objects.filter(pk=r.pk).update(
            status=status, reason=reason, last_error=error, attempts=attempts,
            provider_message_id=provider_id,
            sent_at=when if status == S.SENT else None, updated_at=now)
        return r

    # Sent: yesterday's reminders.
    for i in range(3):
        row(i, K.QUESTIONNAIRE_DUE, status=S.SENT, offset=f"demo-sent-{i}",
            when=now - timedelta(days=1, hours=i), attempts=1,
            provider_id=f"demo-{i:04d}@ipm.local")
    # Pending: due tomorrow morning.
    for i in range(3):
        row(i + 1, K.QUESTIONNAIRE_DUE, status=S.PENDING, offset=f"demo-pending-{i}",
            when=now + timedelta(days=1, hours=i))
    # Failed: the SMS provider kept answering 500, and a missing address.
    row(0, K.GROUP_SESSION, status=S.FAILED, offset="demo-failed-provider",
        when=now - timedelta(hours=3), channel=Reminder.Channel.SMS, reason=R.PROVIDER_ERROR,
        error="SMS provider answered HTTP 500", attempts=5)
    row(1, K.GROUP_SESSION, status=S.FAILED, offset="demo-failed-address",
        when=now - timedelta(hours=5), reason=R.NO_ADDRESS)
    # Cancelled: the patient withdrew consent.
    row(2, K.QUESTIONNAIRE_DUE, status=S.CANCELLED, offset="demo-cancelled",
        when=now - timedelta(hours=2), reason=R.NO_CONSENT)
    # Staff-directed, already sent.
    if coordinator is not None:
        row(0, K.SLA_DIGEST, status=S.SENT, offset="demo-digest", user=coordinator,
            when=now - timedelta(hours=20), attempts=1, provider_id="demo-digest@ipm.local")
    if clinician is not None:
        row(1, K.CONSENT_REVOKED, status=S.SENT, offset="demo-consent", user=clinician,
            when=now - timedelta(hours=30), attempts=1, provider_id="demo-consent@ipm.local")
