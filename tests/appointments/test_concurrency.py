"""No double-booking under real concurrency (docs/product.md §8): two coordinators post the same slot
to a live server at the same moment, from two threads released by a barrier; exactly one
gets 201 and the other 409, and one appointment exists. The database's exclusion
constraint is what decides (the service's own overlap check cannot see an uncommitted
booking)."""

import threading
from datetime import timedelta

import pytest
import requests
from django.db import IntegrityError, transaction

from appointments.models import Appointment
from ipm import roles
from tests.conftest import make_user, token_for

from .conftest import next_day


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_booking_one_slot_get_one_201_and_one_409(live_server, doctor,
                                                                   make_patient):
    when = next_day(2, 11)
    callers = []
    for i in range(2):
        user = make_user(f"coord-{i}", roles.COORDINATOR)
        callers.append((token_for(user), make_patient(f"Pat{i}", "Race")))
    barrier = threading.Barrier(len(callers))
    results: list[int] = []
    errors: list[BaseException] = []

    def book(token, patient):
        try:
            body = {"patient": patient.pk, "clinician": doctor.pk, "service": "physio",
                    "starts_at": when.isoformat(), "duration_minutes": 45}
            barrier.wait(timeout=30)
            r = requests.post(f"{live_server.url}/api/appointments/", json=body, timeout=60,
                              headers={"Authorization": f"Token {token}"})
            results.append(r.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=book, args=c) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)

    assert not errors, errors
    assert sorted(results) == [201, 409]
    assert Appointment.objects.filter(clinician=doctor).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_an_overlap_written_past_the_service(book, make_patient):
    first = book(starts_at=next_day(1, 10), minutes=60)
    clash = Appointment(patient=make_patient("Tom", "F"), clinician=first.clinician,
                        service=first.service, site=first.site, duration_minutes=30,
                        starts_at=first.starts_at + timedelta(minutes=30),
                        ends_at=first.starts_at + timedelta(minutes=60))
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    clash.starts_at, clash.ends_at = first.ends_at, first.ends_at + timedelta(minutes=30)
    clash.save()  # back to back is fine
    clash.status, clash.status_reason = "cancelled_by_clinic", "x"
    clash.starts_at, clash.ends_at = first.starts_at, first.ends_at
    clash.save()  # a cancelled appointment holds no time


@pytest.mark.django_db
def test_a_booking_chosen_as_deadlock_victim_is_a_409_not_a_500(book, monkeypatch):
    """Two racing bookings can each wait for the other while PostgreSQL checks the exclusion
    constraint; the one it rolls back (SQLSTATE 40P01) lost the slot."""
    from django.db import OperationalError

    from ipm.errors import Conflict

    class Deadlock(Exception):
        sqlstate = "40P01"

    def deadlocked(**kwargs):
        try:
            raise Deadlock("deadlock detected")
        except Deadlock as cause:
            raise OperationalError("deadlock detected") from cause

    monkeypatch.setattr(Appointment.objects, "create", deadlocked)
    with pytest.raises(Conflict) as refused:
        book(starts_at=next_day(1, 10))
    assert "starts_at" in refused.value.errors
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_other_database_errors_while_booking_are_not_hidden(book, monkeypatch):
    from django.db import OperationalError

    def broken(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Appointment.objects, "create", broken)
    with pytest.raises(OperationalError):
        book(starts_at=next_day(1, 10))
