"""No patient SMS between 21:00 and 08:00 in the patient's own time zone; a reminder due
then waits until 08:00 local (docs/product.md §3.5)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from reminders import sms
from reminders.dispatch import dispatch_due
from reminders.models import Reminder
from reminders.quiet_hours import in_quiet_hours, next_send_time
from reminders.services import reminder_schedule

LONDON = "Europe/London"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("when", "tz", "expected"), [
    # London in winter (UTC+0)
    (utc(2026, 1, 15, 20, 59), LONDON, utc(2026, 1, 15, 20, 59)),
    (utc(2026, 1, 15, 21, 0), LONDON, utc(2026, 1, 16, 8, 0)),
    (utc(2026, 1, 15, 23, 30), LONDON, utc(2026, 1, 16, 8, 0)),
    (utc(2026, 1, 16, 7, 59), LONDON, utc(2026, 1, 16, 8, 0)),
    (utc(2026, 1, 16, 8, 0), LONDON, utc(2026, 1, 16, 8, 0)),
    # London in summer (BST, UTC+1): 20:30 UTC is 21:30 local
    (utc(2026, 7, 1, 20, 30), LONDON, utc(2026, 7, 2, 7, 0)),
    (utc(2026, 7, 1, 19, 59), LONDON, utc(2026, 7, 1, 19, 59)),
    # New York (UTC-5 in winter): 02:00 UTC is 21:00 the day before
    (utc(2026, 1, 16, 2, 0), "America/New_York", utc(2026, 1, 16, 13, 0)),
    (utc(2026, 1, 16, 1, 59), "America/New_York", utc(2026, 1, 16, 1, 59)),
    # Sydney (UTC+11 in January): 12:00 UTC is 23:00 local
    (utc(2026, 1, 15, 12, 0), "Australia/Sydney", utc(2026, 1, 15, 21, 0)),
    # Kolkata (UTC+5:30): 16:00 UTC is 21:30 local
    (utc(2026, 1, 15, 16, 0), "Asia/Kolkata", utc(2026, 1, 16, 2, 30)),
])
def test_it_defers_to_0800_local_during_quiet_hours(when, tz, expected):
    assert next_send_time(when, tz) == expected


def test_it_lands_on_0800_local_across_a_dst_change():
    # The night the clocks go forward in London (29 March 2026, 01:00 UTC).
    when = utc(2026, 3, 28, 22, 0)  # 22:00 GMT
    result = next_send_time(when, LONDON)
    assert result.astimezone(ZoneInfo(LONDON)).hour == 8
    assert result == utc(2026, 3, 29, 7, 0)  # 08:00 BST


def test_it_treats_an_unknown_time_zone_as_utc():
    assert in_quiet_hours(utc(2026, 1, 15, 22, 0), "Mars/Olympus_Mons")
    assert not in_quiet_hours(utc(2026, 1, 15, 12, 0), "Mars/Olympus_Mons")


# --- in the dispatcher ---------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(make_patient, group_session):
    from visits.models import Enrolment

    def _make(**kw):
        p = make_patient(**kw)
        Enrolment.objects.create(series=group_session.series, patient=p, status="enrolled")
        return p

    return _make


def due_reminder(patient, session, when):
    return reminder_schedule(kind=Reminder.Kind.GROUP_SESSION, target_type="group_session",
                             target_id=session.pk, patient=patient, offset="48h",
                             scheduled_for=when)


def test_it_holds_a_patient_sms_due_at_night_until_0800_in_their_time_zone(
        enrolled, group_session):
    patient = enrolled(preferred_channel="sms", timezone="America/New_York")
    night = timezone.now().astimezone(ZoneInfo("America/New_York")).replace(
        hour=22, minute=15, second=0, microsecond=0)
    group_session.starts_at = night + timedelta(days=2)
    group_session.save(update_fields=["starts_at"])
    row = due_reminder(patient, group_session, night)
    with time_machine.travel(night, tick=False) as clock:
        counts = dispatch_due()
        assert counts["deferred"] == 1 and counts["sent"] == 0
        row.refresh_from_db()
        assert row.status == Reminder.Status.PENDING and row.attempts == 0
        local = row.scheduled_for.astimezone(ZoneInfo("America/New_York"))
        assert (local.date(), local.hour, local.minute) == (
            (night + timedelta(days=1)).date(), 8, 0)
        assert sms.outbox == []

        clock.move_to(row.scheduled_for - timedelta(minutes=1))
        assert dispatch_due()["claimed"] == 0
        clock.move_to(row.scheduled_for)
        assert dispatch_due()["sent"] == 1
    assert len(sms.outbox) == 1


def test_it_sends_the_same_moment_to_a_patient_whose_local_time_is_daytime(
        enrolled, group_session):
    """22:15 in New York is 03:15 in London (quiet) but 12:15 in Tokyo (not quiet)."""
    tokyo = enrolled(preferred_channel="sms", timezone="Asia/Tokyo")
    london = enrolled(preferred_channel="sms", timezone=LONDON)
    moment = utc(2026, 1, 15, 3, 15)
    group_session.starts_at = moment + timedelta(days=2)
    group_session.save(update_fields=["starts_at"])
    with time_machine.travel(moment, tick=False):
        r_tokyo = due_reminder(tokyo, group_session, moment)
        r_london = due_reminder(london, group_session, moment)
        dispatch_due()
    r_tokyo.refresh_from_db()
    r_london.refresh_from_db()
    assert r_tokyo.status == Reminder.Status.SENT
    assert r_london.status == Reminder.Status.PENDING
    assert r_london.scheduled_for == utc(2026, 1, 15, 8, 0)


def test_it_does_not_hold_email_at_night(enrolled, group_session):
    patient = enrolled(preferred_channel="email", timezone=LONDON)
    moment = utc(2026, 1, 15, 23, 30)
    group_session.starts_at = moment + timedelta(days=2)
    group_session.save(update_fields=["starts_at"])
    with time_machine.travel(moment, tick=False):
        row = due_reminder(patient, group_session, moment)
        assert dispatch_due()["sent"] == 1
    row.refresh_from_db()
    assert row.status == Reminder.Status.SENT
    assert len(mail.outbox) == 1


def test_it_shows_the_session_time_in_the_patients_time_zone(enrolled, group_session):
    patient = enrolled(preferred_channel="email", timezone="America/New_York")
    moment = utc(2026, 1, 13, 15, 0)
    group_session.starts_at = utc(2026, 1, 15, 15, 0)  # 10:00 in New York
    group_session.save(update_fields=["starts_at"])
    with time_machine.travel(moment, tick=False):
        due_reminder(patient, group_session, moment)
        dispatch_due()
    assert "Thursday 15 January at 10:00" in mail.outbox[0].body
