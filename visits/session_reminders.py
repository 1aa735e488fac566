"""Group-session reminders (SPEC §3.5: 48 h and 2 h before each session).

Scheduling goes through `reminders.services.reminder_schedule` and cancelling through
`reminders_cancel`. One gap in that interface is filled here, in the smallest way: the
outbox key of a reminder is fixed (kind, session, patient, offset), so when a session is
moved or a withdrawn person enrols again, `reminder_schedule` hands back the existing
row, which may be cancelled or due at the old time. `_bring_up_to_date` re-arms such a row
with one conditional UPDATE on rows that were never sent (pending or cancelled); a row
that was sent stays sent, so the at-most-once promise of the outbox holds.
"""

from datetime import timedelta

from django.utils import timezone

from reminders.models import Reminder
from reminders.services import reminder_schedule, reminders_cancel

TARGET_TYPE = "group_session"
KIND = "group_session"
OFFSETS = (("48h", timedelta(hours=48)), ("2h", timedelta(hours=2)))


def _bring_up_to_date(row: Reminder | None, scheduled_for) -> None:
    if row is None or (row.status == Reminder.Status.PENDING
                       and row.scheduled_for == scheduled_for):
        return
    Reminder.objects.filter(
        pk=row.pk, status__in=[Reminder.Status.PENDING, Reminder.Status.CANCELLED],
    ).update(status=Reminder.Status.PENDING, reason="", scheduled_for=scheduled_for,
             updated_at=timezone.now())


def schedule_for(*, sessions, patients, now=None) -> int:
    """Schedule the 48 h and 2 h reminders of each future, scheduled session for each
    patient whose preferred channel is not 'none'. Reminders whose time has passed are
    skipped. Idempotent. Returns how many reminders are due to go out."""
    now = now or timezone.now()
    count = 0
    for session in sessions:
        if session.status != session.Status.SCHEDULED or session.starts_at <= now:
            continue
        for patient in patients:
            channel = patient.preferred_channel
            if not channel or channel == "none":
                continue
            for offset, before in OFFSETS:
                when = session.starts_at - before
                if when <= now:
                    continue
                row = reminder_schedule(kind=KIND, target_type=TARGET_TYPE, target_id=session.pk,
                                        patient=patient, channel=channel, offset=offset,
                                        scheduled_for=when)
                _bring_up_to_date(row, when)
                count += 1
    return count


def cancel_for_session(session, patient=None) -> int:
    return reminders_cancel(target_type=TARGET_TYPE, target_id=session.pk, patient=patient,
                            kind=KIND)


def cancel_for_patient(*, sessions, patient) -> int:
    """A withdrawal: cancel the patient's pending reminders for these sessions."""
    return sum(cancel_for_session(s, patient) for s in sessions)
