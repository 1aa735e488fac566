"""A tiny hand-built program for the metric tests.

The period under test is February 2025 (program time zone Europe/London, which is UTC in
February, so the worked answers need no DST arithmetic); "now" is fixed at 20 March 2025.
Rows are made directly with the ORM so each test states exactly the timestamps it means.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from metrics.definitions import Scope
from outcomes.models import QuestionnaireResponse, SafetyAlert
from patients.models import Intake, Patient, Program
from referrals.models import Referral, ReferralEvent, Service
from visits.models import Attendance, Enrolment, GroupSeries, GroupSession

LONDON = dt.UTC  # Europe/London is UTC throughout January-March 20 2025
FEB_START, FEB_END = dt.date(2025, 2, 1), dt.date(2025, 2, 28)
NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=LONDON)


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def feb(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return at(2, day, hour, minute)


class Build:
    """Factories for the rows the metrics read. Names are generated; tests never need them."""

    def __init__(self):
        self.program = Program.default()
        self._n = itertools.count(1)

    def service(self, code: str) -> Service:
        return Service.objects.get(code=code)

    def patient(self, *, risk: str = "", intake_date=None, baseline_mme=None, current_mme=None,
                given_name: str = "", site=None) -> Patient:
        n = next(self._n)
        return Patient.objects.create(
            program=self.program, site=site or self.program.sites.order_by("pk").first(), mrn=f"MRN{n:05d}", given_name=given_name or f"Given{n}",
            family_name=f"Family{n}", birth_date=dt.date(1970, 1, 1), risk_group=risk,
            intake_date=intake_date,
            baseline_mme=None if baseline_mme is None else Decimal(str(baseline_mme)),
            current_mme=None if current_mme is None else Decimal(str(current_mme)))

    def intake(self, patient: Patient, when: dt.datetime, risk: str = "low") -> Intake:
        return Intake.objects.create(
            patient=patient, red_flags={}, startback_total=0, startback_psychosocial=0,
            risk_group=risk, suggested_pathway="self_management", created_at=when)

    def referral(self, patient: Patient, service: str | Service, referred_at: dt.datetime,
                 *steps: tuple[str, dt.datetime]) -> Referral:
        """A referral moved through `steps` [(to_status, at), ...], with its event history
        and the timestamps the referral service would have set."""
        if isinstance(service, str):
            service = self.service(service)
        referral = Referral.objects.create(patient=patient, service=service, reason="pain",
                                           referred_at=referred_at)
        ReferralEvent.objects.create(referral=referral, from_status="", to_status="new",
                                     at=referred_at)
        status = "new"
        stamps = {"triaged": "triaged_at", "scheduled": "scheduled_at",
                  "in_treatment": "first_visit_at"}
        for to, when in steps:
            ReferralEvent.objects.create(referral=referral, from_status=status, to_status=to,
                                         at=when)
            if to in stamps:
                setattr(referral, stamps[to], when)
            if to in ("discharged", "declined", "cancelled"):
                referral.closed_at = when
            status = to
        referral.status = status
        referral.save()
        return referral

    def series(self, *starts: dt.datetime, service: str = "group_programme", capacity: int = 10,
               cancelled: tuple[dt.datetime, ...] = (), site=None) -> GroupSeries:
        series = GroupSeries.objects.create(
            name=f"Series {next(self._n)}", service=self.service(service), capacity=capacity,
            site=site or self.program.sites.order_by("pk").first())
        for start in starts:
            GroupSession.objects.create(series=series, starts_at=start)
        for start in cancelled:
            GroupSession.objects.create(series=series, starts_at=start,
                                        status=GroupSession.Status.CANCELLED)
        return series

    def enrol(self, series: GroupSeries, patient: Patient, status: str = "enrolled",
              enrolled_at: dt.datetime | None = None, withdrawn_at=None, seq=None) -> Enrolment:
        return Enrolment.objects.create(series=series, patient=patient, status=status,
                                        enrolled_at=enrolled_at or at(1, 5),
                                        withdrawn_at=withdrawn_at, waitlist_seq=seq)

    def attend(self, session: GroupSession, patient: Patient, status: str = "present"):
        return Attendance.objects.create(session=session, patient=patient, status=status)

    def response(self, patient: Patient, instrument: str, when: dt.datetime, value=None, *,
                 pi=None, pf=None, context: str = "follow_up") -> QuestionnaireResponse:
        """A scored response: `value` is the headline (PEG score, PHQ-9/GAD-7 total, NPS);
        PROMIS-29 takes pain interference (`pi`) and physical function (`pf`) T-scores."""
        if instrument == "promis29":
            scores = {"pain_interference": {"t_score": pi}, "physical_function": {"t_score": pf}}
            primary = pi
        elif instrument == "peg":
            scores, primary = {"score": value}, value
        elif instrument == "nps":
            category = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
            scores, primary = {"score": value, "category": category}, value
        else:
            scores, primary = {"total": value}, value
        return QuestionnaireResponse.objects.create(
            patient=patient, instrument=instrument, instrument_version="test", answers={},
            scores=scores, primary_score=None if primary is None else Decimal(str(primary)),
            context=context, answered_at=when)

    def alert(self, patient: Patient, opened_at: dt.datetime, acknowledged_at=None) -> SafetyAlert:
        response = self.response(patient, "phq9", opened_at, 12)
        if not hasattr(self, "_clinician"):
            self._clinician = User.objects.create_user(username="metrics-clinician")
        return SafetyAlert.objects.create(
            patient=patient, response=response, opened_at=opened_at,
            acknowledged_at=acknowledged_at, assigned_to=self._clinician,
            action="other" if acknowledged_at else "",
            status="acknowledged" if acknowledged_at else "open")


def peg_program(build):
    """PEG responders, worked: baseline -> latest in February."""
    patients = {}
    for name, risk, baseline, later in [
        ("A", "low", 6.67, [(feb(10), 4.67)]),                 # item sum 20 -> 14: exactly 30 %
        ("B", "low", 5.0, [(feb(10), 4.0)]),                   # 20 %: no
        ("C", "medium", 4.0, [(feb(10), 6.0)]),                # worse: no
        ("D", "high", 8.0, [(feb(5), 7.0), (feb(20), 2.0)]),   # the latest in Feb counts: yes
        ("E", "high", None, [(feb(10), 6.0)]),                 # only a baseline: not counted
        ("F", "high", 6.0, [(feb(10), 3.0), (at(3, 5), 8.0)]),  # March is after: yes
        ("G", "medium", 0.0, [(feb(10), 0.0)]),                # baseline 0 cannot improve: no
    ]:
        p = build.patient(risk=risk)
        if baseline is not None:
            build.response(p, "peg", at(1, 5), baseline, context="intake")
        for when, value in later:
            build.response(p, "peg", when, value)
        patients[name] = p
    return patients


def seed_services() -> None:
    """The service catalogue, as the data migration seeds it. Re-seeded here because a
    transactional test (browser journeys, real-worker tests) flushes the tables, and
    serialized rollback does not survive Playwright's event loop in the same session."""
    from referrals.catalogue import SERVICES

    for code, name, discipline, triage, first_visit, group in SERVICES:
        Service.objects.get_or_create(code=code, defaults={
            "name": name, "discipline": discipline, "sla_triage_days": triage,
            "sla_first_visit_days": first_visit, "is_group_based": group})


@pytest.fixture
def build(db):
    seed_services()
    return Build()


@pytest.fixture
def february():
    return Scope(FEB_START, FEB_END, now=NOW)


@pytest.fixture
def fixed_now(monkeypatch):
    """Freeze django.utils.timezone.now at NOW for code that makes its own Scope."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def feb_program(build):
    """February 2025 in brief: the PEG responders above (50 %), three intakes, two triaged
    physio referrals (2 and 4 days), one NPS promoter and one detractor (NPS 0), one alert
    acknowledged after 6 hours, and a patient named so tests can check names never show."""
    patients = peg_program(build)
    for name, risk in (("A", "low"), ("C", "medium"), ("D", "high")):
        build.intake(patients[name], feb(2), risk)
    build.referral(patients["A"], "physio", feb(3), ("triaged", feb(5)))
    build.referral(patients["B"], "physio", feb(10), ("triaged", feb(14)))
    build.response(patients["A"], "nps", feb(20), 10)
    build.response(patients["B"], "nps", feb(20), 2)
    build.alert(patients["C"], feb(12, 9), feb(12, 15))
    patients["named"] = build.patient(given_name="Zebediah")
    build.referral(patients["named"], "psychology", feb(6))
    return patients
