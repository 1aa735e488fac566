"""The benchmark's hand-written SQL (bench/raw_metrics.py) gives the same numbers as the app's
metric definitions, key by key: on the demo program, on generated scale data, and on a
hand-built February full of ties and boundaries. A mismatch means one of the two is wrong,
so the benchmark's "metrics / hand-written SQL" ratio compares like with like."""

import datetime as dt
import importlib.util
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Min
from django.utils import timezone

from appointments.models import Appointment, WeeklyAvailability
from care.models import Contact, StepDecision
from clinic.scale_data import generate
from ipm import roles
from metrics.definitions import Scope, compute, default_range
from patients.models import Patient, Site
from referrals.models import Service
from tests.conftest import make_user

from .conftest import FEB_END, FEB_START, NOW, at, feb, seed_services

pytestmark = pytest.mark.postgres

# bench/ is a script directory, not a package: load the module from its file.
_spec = importlib.util.spec_from_file_location(
    "bench_raw_metrics", Path(__file__).resolve().parents[2] / "bench" / "raw_metrics.py")
raw_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(raw_metrics)


def assert_same(start: dt.date, end: dt.date, now: dt.datetime) -> dict:
    expected = compute(Scope(start, end, now=now))
    got = raw_metrics.raw_compute(start, end, now)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == value, key
    print(start, end, expected)
    return expected


def whole_program() -> tuple[dt.date, dt.date]:
    """First intake to today, as bench/jobs.py times it."""
    first = Patient.objects.aggregate(d=Min("intake_date"))["d"] or timezone.localdate()
    return first, timezone.localdate()


@pytest.mark.django_db
def test_it_matches_the_app_on_the_demo_program():
    call_command("demo_data", stdout=io.StringIO())
    now = timezone.now()
    assert_same(*default_range(), now)
    values = assert_same(*whole_program(), now)
    assert values["active_patients"] > 0 and values["responders"]["peg"] is not None


@pytest.mark.django_db(transaction=True)  # the generator ends with VACUUM ANALYZE
def test_it_matches_the_app_on_scale_data():
    seed_services()  # a transactional test may start after another one flushed the catalogue
    generate(patients=300, out=io.StringIO())
    values = assert_same(*whole_program(), timezone.now())
    assert values["active_patients"] > 0 and values["completion_rate"] is not None


def test_it_matches_the_app_on_ties_and_boundaries(build, feb_program):
    """February 2025 with the cases each definition spells out: equal timestamps broken by
    id, baselines before the period, withdrawals either side of the first session, alerts
    either side of a working day, two sites, contacts across months, a step-up on day 14."""
    program = build.program
    program.holiday_country = "GB"
    program.save(update_fields=["holiday_country"])
    east = Site.objects.create(program=program, name="East", code="east")
    a, b, c, d = (feb_program[k] for k in "ABCD")

    # Ties: two intakes, two PEGs and two NPS answers at the same moment; the later id wins.
    build.intake(a, feb(2), "high")
    build.intake(b, at(1, 2), "medium")
    build.intake(b, at(1, 2), "high")
    build.intake(c, at(1, 3), "low")  # C's baseline risk group: low, though medium in February
    build.response(b, "peg", feb(10), 3.0)
    build.response(c, "nps", feb(20), 9)
    build.response(c, "nps", feb(20), 6)
    build.response(d, "phq9", at(1, 5), 20, context="intake")
    build.response(d, "phq9", feb(25), 14)
    build.response(d, "promis29", at(1, 5), pi=65.0, pf=35.0, context="intake")
    build.response(d, "promis29", feb(25), pi=61.9, pf=38.1)
    for p, first, latest in ((a, 3.33, 5.33), (b, 2.25, 4.2), (c, 4.0, 5.95)):
        build.response(p, "psfs", at(1, 5), context="intake", value=first)
        build.response(p, "psfs", feb(15), value=latest)

    # Referrals: state history with equal timestamps, SLA, a group service's first visit.
    e = build.patient(risk="low", intake_date=dt.date(2024, 11, 20), baseline_mme=60,
                      current_mme=40, site=east)
    build.referral(e, "physio", feb(1), ("triaged", feb(9)), ("scheduled", feb(9)))
    build.referral(e, "psychology", feb(26))
    build.referral(e, "physio", at(1, 20), ("triaged", feb(3)), ("declined", feb(28, 23)))
    group_service = Service.objects.filter(is_group_based=True).order_by("pk").first()
    group_ref = build.referral(e, group_service, feb(2), ("triaged", feb(3)))
    series = build.series(feb(4, 10), feb(11, 10), feb(18, 10), feb(25, 10),
                          service=group_service.code, capacity=6, cancelled=(feb(20, 10),))
    sessions = list(series.sessions.filter(status="scheduled").order_by("starts_at"))
    build.enrol(series, e)
    build.enrol(series, a, status="withdrawn", withdrawn_at=feb(3))    # before: not counted
    build.enrol(series, b, status="withdrawn", withdrawn_at=feb(12))   # after: counted
    build.enrol(series, c, status="waitlisted", seq=1)
    for session in sessions[:3]:
        build.attend(session, e)
    build.attend(sessions[0], b)
    build.attend(sessions[1], b, "late_cancel")
    build.attend(sessions[3], b, "excused")
    build.response(e, "peg", at(1, 5), 6.0, context="intake")
    build.response(e, "peg", feb(12, 9), 5.0)   # day 84 after the intake date
    build.response(e, "peg", feb(26), 1.33)

    # Individual appointments and a clinician's weekly hours.
    clinician = make_user("phys", roles.CLINICIAN)
    site = Site.objects.order_by("pk").first()
    WeeklyAvailability.objects.create(clinician=clinician, site=site, weekday=0,
                                      start_time=dt.time(9), end_time=dt.time(13))
    for day, status, minutes, referral in (
            (3, "attended", 60, group_ref), (4, "did_not_attend", 45, None),
            (7, "cancelled_by_clinic", 60, None), (10, "booked", 30, None),
            (12, "attended", 60, None)):
        Appointment.objects.create(
            patient=e, clinician=clinician, service=Service.objects.get(code="physio"),
            site=site, referral=referral, starts_at=feb(day, 9),
            ends_at=feb(day, 9) + dt.timedelta(minutes=minutes), duration_minutes=minutes,
            status=status, status_reason="cancelled" if status.startswith("cancelled") else "")

    # Safety alerts either side of one working day, at two sites; one still open.
    build.alert(a, feb(7, 16), feb(10, 15, 30))
    build.alert(a, feb(7, 16), feb(10, 16, 30))
    build.alert(e, feb(8, 10), feb(10, 17))
    build.alert(e, feb(26, 12))
    build.alert(b, feb(28, 16, 30))

    # Care management: contacts across months, a step-up 14 days after a flagged PEG.
    for p in (d, e):
        p.step = 2
        p.save(update_fields=["step"])
    for p, when, minutes, outcome in ((d, at(1, 30), 20, "reached"), (d, feb(3), 15, "reached"),
                                      (d, feb(20), 10, "no_answer"), (e, feb(27), 25, "reached"),
                                      (e, at(3, 2), 30, "reached")):
        Contact.objects.create(patient=p, kind="phone", minutes=minutes, outcome=outcome,
                               contacted_at=when)
    StepDecision.objects.create(patient=e, from_step=1, to_step=2, direction="up",
                                reason="not improving", decided_at=feb(26, 9))

    assert_same(FEB_START, FEB_END, NOW)
    assert_same(dt.date(2025, 2, 10), dt.date(2025, 3, 31), NOW)  # still running at NOW
    assert_same(dt.date(2024, 1, 1), dt.date(2025, 12, 31), NOW)
