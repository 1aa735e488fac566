"""Referral background work."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from ipm import roles
from reminders.services import reminder_schedule

from .selectors import queue_summary


@shared_task(name="referrals.tasks.sla_breach_digest")
def sla_breach_digest() -> int:
    """Each weekday morning (beat): one SLA-breach digest per active coordinator per day,
    as a reminders outbox row. The day (yyyymmdd in the program's time zone) is part of the
    row's unique key, so a retried or doubled run schedules nothing twice. Nothing is
    scheduled when no referral is over its SLA. The reminders app sends it (and rechecks
    the count at send time). Returns how many rows exist for today."""
    if not queue_summary()["breached"]:
        return 0
    now = timezone.now()
    day = int(timezone.localtime(now).strftime("%Y%m%d"))
    coordinators = (get_user_model().objects.filter(is_active=True, groups__name=roles.COORDINATOR)
                    .distinct().order_by("pk"))
    count = 0
    for user in coordinators:
        if reminder_schedule(kind="sla_digest", target_type="sla_digest", target_id=day,
                             recipient_user=user, channel="email", scheduled_for=now):
            count += 1
    return count
