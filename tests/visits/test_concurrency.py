"""Capacity is never exceeded when many enrolments arrive at once (docs/product.md §3.3): 20 people
enrol into a series of 8 places from 20 connections released together by a barrier."""

import threading

import pytest
from django.db import connection

from visits import services
from visits.models import Enrolment

PEOPLE = 20
CAPACITY = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_exceeds_capacity_under_concurrent_enrolment(make_series, make_patient,
                                                              coordinator):
    series = make_series(capacity=CAPACITY, n=3)
    patients = [make_patient() for _ in range(PEOPLE)]
    barrier = threading.Barrier(PEOPLE)
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def enrol(patient):
        try:
            barrier.wait(timeout=30)
            enrolment = services.enrolment_create(series=series, patient=patient,
                                                  actor=coordinator)
            results[patient.pk] = enrolment.status
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    assert len(results) == PEOPLE
    rows = list(Enrolment.objects.filter(series=series))
    assert len(rows) == PEOPLE
    assert len({r.patient_id for r in rows}) == PEOPLE  # nobody twice
    enrolled = [r for r in rows if r.status == "enrolled"]
    waitlisted = sorted((r for r in rows if r.status == "waitlisted"), key=lambda r: r.waitlist_seq)
    assert len(enrolled) == CAPACITY
    assert len(waitlisted) == PEOPLE - CAPACITY
    positions = [services.waitlist_position(r) for r in waitlisted]
    assert positions == list(range(1, PEOPLE - CAPACITY + 1))
    # What each caller was told matches what was stored.
    assert {r.patient_id: r.status for r in rows} == results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_promote_each_waiting_person_once(make_series, make_patient,
                                                                 coordinator):
    series = make_series(capacity=4, n=2)
    patients = [make_patient() for _ in range(10)]
    for p in patients:
        services.enrolment_create(series=series, patient=p, actor=coordinator)
    leaving = patients[:4]
    barrier = threading.Barrier(len(leaving))
    promoted: list[int] = []
    errors: list[BaseException] = []

    def withdraw(patient):
        try:
            barrier.wait(timeout=30)
            _, p = services.enrolment_withdraw(series=series, patient=patient, actor=coordinator)
            promoted.append(p.patient_id)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw, args=(p,)) for p in leaving]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    assert sorted(promoted) == sorted(p.pk for p in patients[4:8])
    status = dict(Enrolment.objects.filter(series=series).values_list("patient_id", "status"))
    assert [status[p.pk] for p in patients[4:8]] == ["enrolled"] * 4
    assert [status[p.pk] for p in patients[8:]] == ["waitlisted"] * 2
