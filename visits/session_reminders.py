"""Group-session reminders (docs/product.md §3.5: 48 h and 2 h before each session).

Scheduling goes through `reminders.services.reminder_schedule` and cancelling through
`reminders_cancel`. The outbox key of a reminder is fixed (kind, session, patient, offset),
so when a session is moved or a withdrawn person enrols again the existing row is re-armed
(`rearm=True`: pending again at the new time unless it was sent). The kind itself (who,
whether, what) is visits/reminder_kinds.py.
"""

from datetime import timedelta

from django.utils import timezone

from reminders.services import reminder_schedule, reminders_cancel

TARGET_TYPE = "group_session"
KIND = "group_session"
OFFSETS = (("48h", timedelta(hours=48)), ("2h", timedelta(hours=2)))


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
                reminder_schedule(kind=KIND, target_type=TARGET_TYPE, target_id=session.pk,
                                  patient=patient, channel=channel, offset=offset,
                                  scheduled_for=when, rearm=True)
                count += 1
    return count


def cancel_for_session(session, patient=None) -> int:
    return reminders_cancel(target_type=TARGET_TYPE, target_id=session.pk, patient=patient,
                            kind=KIND)


def cancel_for_patient(*, sessions, patient) -> int:
    """A withdrawal: cancel the patient's pending reminders for these sessions."""
    return sum(cancel_for_session(s, patient) for s in sessions)
