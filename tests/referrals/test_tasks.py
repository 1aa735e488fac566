"""The daily SLA-breach digest: one outbox row per coordinator per day."""

import pytest
from django.utils import timezone

from ipm import roles
from referrals.tasks import sla_breach_digest
from reminders.models import Reminder
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_it_schedules_one_digest_per_coordinator_per_day(coordinator, clinician, make_referral,
                                                         patient):
    second = make_user("cleo", roles.COORDINATOR)
    gone = make_user("gone", roles.COORDINATOR)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    make_referral(patient, days_ago=30)  # over its SLA
    assert sla_breach_digest() == 2
    assert sla_breach_digest.delay().get() == 2  # run again (as beat would): no new rows
    rows = Reminder.objects.filter(kind="sla_digest")
    assert rows.count() == 2
    assert {r.recipient_user for r in rows} == {coordinator, second}
    day = int(timezone.localtime().strftime("%Y%m%d"))
    for row in rows:
        assert (row.target_type, row.target_id, row.channel, row.status) == (
            "sla_digest", day, "email", "pending")
        assert row.patient is None  # no patient data in a digest


def test_it_schedules_nothing_when_no_referral_is_over_its_sla(coordinator, make_referral,
                                                               patient):
    make_referral(patient, days_ago=1)
    assert sla_breach_digest() == 0
    assert not Reminder.objects.exists()
