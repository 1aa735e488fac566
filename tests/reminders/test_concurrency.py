"""Several dispatch passes at once (several workers) claim disjoint rows: SELECT ... FOR
UPDATE SKIP LOCKED plus the conditional pending -> sending UPDATE."""

import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from reminders.dispatch import dispatch_due
from reminders.models import Reminder


def group_service():
    """Transactional tests flush the database after themselves, seeded services included."""
    from referrals.models import Service

    return Service.objects.get_or_create(
        code="group_programme", defaults={"name": "Group programme", "discipline": "MDT",
                                          "sla_triage_days": 14, "sla_first_visit_days": 42,
                                          "is_group_based": True})[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_each_reminder_once_when_passes_run_concurrently():
    from patients.services import patient_create
    from reminders.services import reminder_schedule
    from visits.models import Enrolment, GroupSeries, GroupSession

    series = GroupSeries.objects.create(name="S", capacity=99,
                                        service=group_service())
    session = GroupSession.objects.create(series=series,
                                          starts_at=timezone.now() + timedelta(days=2))
    n = 40
    for i in range(n):
        p = patient_create(mrn=f"CC{i}", given_name="A", family_name=f"B{i}",
                           birth_date=date(1990, 1, 1), email=f"cc{i}@example.org",
                           consent_to_contact=True)
        Enrolment.objects.create(series=series, patient=p, status="enrolled")
        reminder_schedule(kind="group_session", target_type="group_session",
                          target_id=session.pk, patient=p, offset="2h",
                          scheduled_for=timezone.now() - timedelta(minutes=1))
    mail.outbox = []
    barrier = threading.Barrier(3)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(dispatch_due(batch_size=5))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sum(r["sent"] for r in results) == n
    assert sum(r["claimed"] for r in results) == n
    assert Reminder.objects.filter(status="sent").count() == n
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(ids) == n and len(set(ids)) == n
