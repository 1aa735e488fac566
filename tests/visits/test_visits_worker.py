"""The completion task runs in a real Celery worker over Redis, by its beat name."""

import os
import time
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from tests.ipm.test_worker import start_worker
from visits import services
from visits.models import Enrolment, GroupSeries


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_completes_an_ended_series(make_series, make_patient, coordinator):
    series = make_series(capacity=4, start=timezone.now() - timedelta(weeks=5), n=4)
    done, short = make_patient(), make_patient()
    for p in (done, short):
        services.enrolment_create(series=series, patient=p, actor=coordinator)
    for i, session in enumerate(series.sessions.order_by("starts_at")):
        services.attendance_mark(session=session, patient=done,
                                 status="present" if i else "absent", actor=coordinator)
        services.attendance_mark(session=session, patient=short,
                                 status="present" if i % 2 else "absent", actor=coordinator)

    redis_url = os.environ["IPM_TEST_REDIS_URL"]
    worker = start_worker(redis_url)
    try:
        Celery("ipm-test", broker=redis_url, set_as_current=False).send_task("visits.tasks.complete_ended_series",
                                                       serializer="json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if GroupSeries.objects.get(pk=series.pk).completed_at is not None:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert GroupSeries.objects.get(pk=series.pk).completed_at is not None
    status = dict(Enrolment.objects.filter(series=series).values_list("patient_id", "status"))
    assert status == {done.pk: "completed", short.pk: "enrolled"}
