import pytest
from django.utils import timezone

from visits.demo import RUNNING, UPCOMING, populate
from visits.models import Attendance, GroupSeries

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_running_series_and_a_full_one_with_a_waitlist(
        clinician, coordinator, admin_user, make_patient, group_service):
    patients = [make_patient() for _ in range(12)]
    ctx = {"users": {"clinician": clinician, "coordinator": coordinator, "admin": admin_user},
           "patients": patients}
    populate(ctx)
    populate(ctx)  # a second run changes nothing

    running = GroupSeries.objects.get(name=RUNNING)
    assert running.sessions.filter(starts_at__lt=timezone.now()).count() == 3
    assert running.sessions.filter(starts_at__gt=timezone.now()).count() == 3
    assert Attendance.objects.filter(session__series=running).count() == 18
    upcoming = GroupSeries.objects.get(name=UPCOMING)
    statuses = sorted(upcoming.enrolments.values_list("status", flat=True))
    assert statuses == ["enrolled"] * 4 + ["waitlisted"] * 2
    assert GroupSeries.objects.count() == 2
