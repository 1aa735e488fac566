"""Program metric definitions (docs/product.md §3.6), in one place.

Each metric is a function of a :class:`Scope` (an inclusive date range in the program's time
zone and an optional service) that aggregates in the database: counts, averages and medians
are SQL aggregates, and "each patient's baseline / latest response" are `Subquery`/`Exists`
over `OuterRef`, never Python loops over patients. Each carries the one-sentence definition
shown on the dashboard, in the CSV export and in the API's `definitions`.

Conventions:
- Percentages are 0-100, rounded half-up to 1 decimal; `None` when nothing is counted
  (no denominator), so "no data" is never shown as 0 %.
- Day and hour figures are medians of exact elapsed time, rounded to 1 decimal.
- With a service, referral and group measures count that service's referrals and group
  series; patient measures count patients with a referral to that service.
- Responders compare each patient's latest response in the period with the first response
  ever recorded for that measure (the baseline), against the MCID in `outcomes/instruments`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import connections
from django.db.models import (
    Avg,
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import (
    Abs,
    Cast,
    Coalesce,
    Round,
    TruncMonth,
)
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import timezone

from appointments import rules as appointment_rules
from appointments.availability import open_spans_for
from appointments.models import Appointment, WeeklyAvailability
from care.models import Contact, StepDecision
from outcomes.instruments import all_instruments, mcid_rule, spec
from outcomes.instruments._common import round_half_up
from outcomes.models import QuestionnaireResponse, SafetyAlert
from outcomes.working_hours import program_calendar, working_hours_between
from patients.models import Intake, Patient, Program, RiskGroup, Site
from referrals.models import Referral, ReferralEvent, Service
from visits.models import Attendance, Enrolment, GroupSeries, GroupSession

from . import rollups
from .sql import DaysBetween, median

# --- Scope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """An inclusive date range [start, end] in the program's time zone, optionally one
    service and one site. `now` is fixed when the scope is made, so one computation sees one
    clock."""

    start: dt.date
    end: dt.date
    service: Service | None = None
    site: Site | None = None
    now: dt.datetime = field(default_factory=lambda: timezone.now(), compare=False)

    @property
    def start_at(self) -> dt.datetime:
        return _midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        return _midnight(self.end + dt.timedelta(days=1))

    @property
    def as_of(self) -> dt.datetime:
        """The end of the range, or now if the range is still running."""
        return min(self.end_at, self.now)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Scope:
        """The range of the same length just before this one (for "change vs previous")."""
        return Scope(self.start - dt.timedelta(days=self.days),
                     self.start - dt.timedelta(days=1), self.service, self.site, self.now)

    def weeks(self) -> list[Scope]:
        """Monday-to-Sunday weeks covering the range, the first and last clipped to it."""
        out, start = [], self.start
        while start <= self.end:
            end = min(start + dt.timedelta(days=6 - start.weekday()), self.end)
            out.append(Scope(start, end, self.service, self.site, self.now))
            start = end + dt.timedelta(days=1)
        return out


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min),
                               timezone.get_default_timezone())


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The 30 days ending yesterday: the range the daily snapshot computes."""
    today = today or timezone.localdate()
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=29), end


# --- Registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str
    unit: str  # count | percent | days | hours | mme | nps | minutes | breakdown
    compute: Callable[[Scope], Any]
    better: str | None = None  # "up" | "down": which change the KPI card shows as good
    trend: bool = False  # computed per week for the trend charts


METRICS: dict[str, Metric] = {}


def metric(key: str, *, label: str, definition: str, unit: str, better: str | None = None,
           trend: bool = False):
    def register(fn: Callable[[Scope], Any]):
        METRICS[key] = Metric(key, label, definition, unit, fn, better, trend)
        return fn

    return register


def definitions() -> dict[str, str]:
    return {key: m.definition for key, m in METRICS.items()}


# Several metrics read the same aggregate (the active patients' summary, the responder
# groups): within one `compute` call each such query runs once per scope.
_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("metrics_memo", default=None)


def _shared(fn):
    @functools.wraps(fn)
    def wrapper(scope: Scope, *args):
        memo = _memo.get()
        if memo is None:
            return fn(scope, *args)
        key = (fn.__name__, scope, args)
        if key not in memo:
            memo[key] = fn(scope, *args)
        return memo[key]

    return wrapper


def compute(scope: Scope, keys=None, on_step: Callable[[], None] | None = None) -> dict:
    """Every metric (or those in `keys`) for the scope, as JSON-ready values."""
    token = _memo.set({})
    try:
        out = {}
        for key in keys or METRICS:
            out[key] = METRICS[key].compute(scope)
            if on_step:
                on_step()
        return out
    finally:
        _memo.reset(token)


def trend_keys() -> tuple[str, ...]:
    """The metrics computed per week for the trend charts."""
    return tuple(key for key, m in METRICS.items() if m.trend)


# --- Helpers ------------------------------------------------------------------------------


def _round1(value) -> float | None:
    """Half away from zero to 1 decimal, as the instrument scores are rounded."""
    if value is None:
        return None
    return float(round_half_up(Decimal(str(value)), 1))


def _pct(part: int, whole: int) -> float | None:
    """100 * part / whole, rounded half-up to 1 decimal from the exact fraction."""
    if not whole:
        return None
    return float(round_half_up(Fraction(100 * part, whole), 1))


def _patients_of_service(scope: Scope, patient_ref: str = "pk") -> Q:
    """Restricts rows keyed by patient to the scope's patients: with a service, those with a
    referral to it; with a site, those of that site (`patient_ref` is "pk" for Patient rows,
    else the path to the patient)."""
    q = Q()
    if scope.site is not None:
        q &= Q(**{"site" if patient_ref == "pk" else f"{patient_ref}__site": scope.site})
    if scope.service is not None:
        q &= Q(Exists(Referral.objects.filter(patient=OuterRef(patient_ref),
                                              service=scope.service)))
    return q


def _service_q(scope: Scope, path: str) -> Q:
    return Q(**{path: scope.service}) if scope.service is not None else Q()


def _site_q(scope: Scope, path: str) -> Q:
    """Restricts rows to the scope's site: `path` leads to the row's own site (series,
    appointments) or to its patient's (referrals)."""
    return Q(**{path: scope.site}) if scope.site is not None else Q()


def _in_period(scope: Scope, path: str) -> Q:
    return Q(**{f"{path}__gte": scope.start_at, f"{path}__lt": scope.end_at})


def _later_than_outer(time_field: str) -> Q:
    """Rows after the outer row in (time, pk) order: ties on time broken by pk."""
    return (Q(**{f"{time_field}__gt": OuterRef(time_field)})
            | Q(**{time_field: OuterRef(time_field), "pk__gt": OuterRef("pk")}))


def _earlier_than_outer(time_field: str) -> Q:
    return (Q(**{f"{time_field}__lt": OuterRef(time_field)})
            | Q(**{time_field: OuterRef(time_field), "pk__lt": OuterRef("pk")}))


@_shared
def _rollups_current(scope: Scope) -> bool:
    """Whether the roll-ups (metrics.rollups) reflect every row right now: checked once per
    scope in a computation; when not, the metrics read the live tables."""
    return rollups.is_current()


def _active_patients(scope: Scope):
    """Patients with care activity in the period (see `active_patients`): one
    `id IN (<referrals> UNION <attendance> UNION <responses>)`, which the database can
    answer with a single hashed semi-join instead of a lookup per patient."""
    referral_open = Referral.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=scope.start_at),
        _service_q(scope, "service"), referred_at__lt=scope.end_at,
    )
    attended = Attendance.objects.filter(
        _in_period(scope, "session__starts_at"), _service_q(scope, "session__series__service"),
        status=Attendance.Status.PRESENT, session__status=GroupSession.Status.SCHEDULED,
    )
    answered = QuestionnaireResponse.objects.filter(_in_period(scope, "answered_at"))
    ids = referral_open.order_by().values("patient_id").union(
        attended.order_by().values("patient_id"), answered.order_by().values("patient_id"))
    return Patient.objects.filter(_patients_of_service(scope), pk__in=ids)


# --- Activity and intake --------------------------------------------------------------------


@metric("active_patients", label="Active patients", unit="count",
        definition="Patients with care activity in the period: a referral open at some point "
                   "in it, an attended group session, or a questionnaire answered.")
def active_patients(scope: Scope) -> int:
    return _patient_summary(scope)["active"]


@_shared
def _patient_summary(scope: Scope) -> dict:
    """One pass over the active patients: their count and the opioid dose figures. From the
    activity spans when the roll-ups are current (metrics.rollups; not per service)."""
    if scope.service is None and _rollups_current(scope):
        return rollups.patient_summary(scope)
    paired = Q(baseline_mme__isnull=False, current_mme__isnull=False)
    known = Q(current_mme__isnull=False)
    return _active_patients(scope).aggregate(
        active=Count("pk"),
        mean_intake=Avg("baseline_mme", filter=paired),
        mean_latest=Avg("current_mme", filter=paired),
        known=Count("pk", filter=known),
        on_opioids=Count("pk", filter=known & Q(current_mme__gt=0)),
        mme_50=Count("pk", filter=known & Q(current_mme__gte=50)),
        mme_90=Count("pk", filter=known & Q(current_mme__gte=90)),
    )


def _intakes(scope: Scope):
    return Intake.objects.filter(_in_period(scope, "created_at"),
                                 _patients_of_service(scope, "patient"))


@metric("new_intakes", label="New intakes", unit="count", trend=True,
        definition="Patients with an intake assessment recorded in the period.")
def new_intakes(scope: Scope) -> int:
    return _intakes(scope).values("patient").distinct().count()


@metric("risk_mix", label="Risk mix", unit="breakdown",
        definition="STarT Back risk group of the patients assessed in the period (each "
                   "patient's latest intake in the period), as counts of patients.")
def risk_mix(scope: Scope) -> dict[str, int]:
    intakes = _intakes(scope)
    later = intakes.filter(_later_than_outer("created_at"), patient=OuterRef("patient"))
    rows = (intakes.filter(~Exists(later)).order_by().values("risk_group")
            .annotate(n=Count("pk")))
    counts = {row["risk_group"]: row["n"] for row in rows}
    return {group: counts.get(group, 0) for group in RiskGroup.values}


# --- Referrals ------------------------------------------------------------------------------


@metric("referrals_by_state", label="Referrals by state", unit="breakdown",
        definition="Referrals received in the period, by their state at the end of the period "
                   "(from the referral's transition history).")
def referrals_by_state(scope: Scope) -> dict[str, int]:
    if scope.service is None and _rollups_current(scope):
        counts = rollups.referrals_by_state(scope)
        return {state: counts.get(state, 0) for state in Referral.Status.values}
    # Live (a service, or the roll-ups not current): the latest event before the end.
    state_at_end = Subquery(
        ReferralEvent.objects.filter(referral=OuterRef("pk"), at__lt=scope.end_at)
        .order_by("-at", "-pk").values("to_status")[:1])
    rows = (Referral.objects.filter(_in_period(scope, "referred_at"), _service_q(scope, "service"),
                                    _site_q(scope, "patient__site"))
            .annotate(state=Coalesce(state_at_end, F("status"), output_field=CharField()))
            .order_by().values("state").annotate(n=Count("pk")))
    counts = {row["state"]: row["n"] for row in rows}
    return {state: counts.get(state, 0) for state in Referral.Status.values}


@metric("median_days_referral_to_triage", label="Median days to triage", unit="days",
        better="down", trend=True,
        definition="Median time from referral to triage, in days, over referrals triaged in "
                   "the period.")
def median_days_referral_to_triage(scope: Scope) -> float | None:
    triaged = Referral.objects.filter(_in_period(scope, "triaged_at"), _service_q(scope, "service"),
                                      _site_q(scope, "patient__site"))
    return _round1(median(triaged, DaysBetween(F("triaged_at"), F("referred_at"))))


@metric("median_days_referral_to_first_visit", label="Median days to first visit", unit="days",
        better="down", trend=True,
        definition="Median time from referral to the first attended visit, in days, over "
                   "first visits in the period. The first visit is the referral's first "
                   "attended individual appointment; without one, the treatment start "
                   "recorded on the referral; for group services without either, the first "
                   "group session of that service attended after the referral.")
def median_days_referral_to_first_visit(scope: Scope) -> float | None:
    # The three sources of a first visit, in order, as three grouped passes (one per kind of
    # referral, so each is a join the database can hash) whose elapsed days are pooled for
    # one median.
    referrals = Referral.objects.filter(_service_q(scope, "service"),
                                        _site_q(scope, "patient__site"),
                                        referred_at__lt=scope.end_at).order_by()
    attended = Appointment.objects.filter(referral=OuterRef("pk"),
                                          status=appointment_rules.ATTENDED)
    # 1. Referrals with an attended appointment: the first one.
    by_appointment = (referrals.filter(appointments__status=appointment_rules.ATTENDED)
                      .values("pk").annotate(first_visit=Min("appointments__starts_at"))
                      .filter(_in_period(scope, "first_visit")))
    # 2. Without one: the treatment start recorded on the referral.
    by_start = referrals.filter(~Exists(attended), _in_period(scope, "first_visit_at"))
    # 3. Group services without either: the first session of the service attended after
    #    the referral.
    #    Driven from the period's sessions (so a week costs a week's rows): the earliest one
    #    in the period, if none came between the referral and the period.
    session_of_service = Attendance.objects.filter(
        patient=OuterRef("patient"), status=Attendance.Status.PRESENT, session__status=_HELD,
        session__series__service=OuterRef("service"),
        session__starts_at__gte=OuterRef("referred_at"), session__starts_at__lt=scope.start_at)
    session_at = "patient__attendance__session__starts_at"
    by_session = (referrals.filter(~Exists(attended),
                                   Q(**{f"{session_at}__gte": F("referred_at")}),
                                   Q(**{f"{session_at}__gte": scope.start_at}),
                                   Q(**{f"{session_at}__lt": scope.end_at}),
                                   first_visit_at__isnull=True, service__is_group_based=True,
                                   patient__attendance__status=Attendance.Status.PRESENT,
                                   patient__attendance__session__status=_HELD,
                                   patient__attendance__session__series__service=F("service"))
                  .filter(~Exists(session_of_service))
                  .values("pk").annotate(first_visit=Min(session_at)))
    days = (by_appointment.values(days=DaysBetween(F("first_visit"), F("referred_at")))
            .union(by_start.values(days=DaysBetween(F("first_visit_at"), F("referred_at"))),
                   by_session.values(days=DaysBetween(F("first_visit"), F("referred_at"))),
                   all=True))
    value = _median_of_column(days, "days")
    return None if value is None else _round1(value)


@metric("pct_over_sla", label="% over triage SLA", unit="percent", better="down", trend=True,
        definition="Of referrals received in the period, the % whose time to triage exceeded "
                   "the service's triage target (days); referrals not yet triaged count once "
                   "their target has passed, declined or cancelled ones stop the clock when "
                   "closed.")
def pct_over_sla(scope: Scope) -> float | None:
    clock_stop = Coalesce(F("triaged_at"), F("closed_at"), Value(scope.now))
    row = (Referral.objects.filter(_in_period(scope, "referred_at"), _service_q(scope, "service"),
                                    _site_q(scope, "patient__site"))
           .alias(waited=DaysBetween(clock_stop, F("referred_at")))
           .aggregate(n=Count("pk"),
                      over=Count("pk", filter=Q(waited__gt=F("service__sla_triage_days")))))
    return _pct(row["over"], row["n"])


# --- Individual appointments ---------------------------------------------------------------


@metric("median_days_referral_to_first_appointment", label="Median days to first appointment",
        unit="days", better="down", trend=True,
        definition="Median time from referral to the start of its first individual "
                   "appointment (booked, attended or not attended; cancelled ones left out), "
                   "in days, over referrals whose first appointment starts in the period.")
def median_days_referral_to_first_appointment(scope: Scope) -> float | None:
    first = Subquery(
        Appointment.objects.filter(referral=OuterRef("pk"))
        .exclude(status__in=appointment_rules.CANCELLED)
        .order_by("starts_at").values("starts_at")[:1])
    referrals = (Referral.objects.filter(_service_q(scope, "service"),
                                         _site_q(scope, "patient__site"),
                                         referred_at__lt=scope.end_at)
                 .filter(Exists(Appointment.objects.filter(_in_period(scope, "starts_at"),
                                                           referral=OuterRef("pk"))))
                 .annotate(first_appointment=first)
                 .filter(_in_period(scope, "first_appointment")))
    return _round1(median(referrals, DaysBetween(F("first_appointment"), F("referred_at"))))


@metric("dna_rate_by_service", label="Did-not-attend rate by service", unit="breakdown",
        better="down",
        definition="Per service: of individual appointments starting in the period and marked "
                   "attended or did-not-attend, the % marked did-not-attend (cancellations and "
                   "appointments not yet marked are left out).")
def dna_rate_by_service(scope: Scope) -> dict[str, float | None]:
    rows = (Appointment.objects.filter(_in_period(scope, "starts_at"),
                                       _service_q(scope, "service"), _site_q(scope, "site"),
                                       status__in=appointment_rules.OUTCOMES)
            .order_by().values("service__code")
            .annotate(n=Count("pk"),
                      dna=Count("pk", filter=Q(status=appointment_rules.DID_NOT_ATTEND))))
    return {row["service__code"]: _pct(row["dna"], row["n"])
            for row in sorted(rows, key=lambda r: r["service__code"])}


@metric("booked_hours_ratio", label="Booked / available hours", unit="breakdown",
        definition="Per clinician (username): hours of individual appointments starting in the "
                   "period that held or used the time (booked, attended or not attended) as "
                   "a % of the hours the clinician was available in the period (weekly hours "
                   "at each site, less leave and the program's public holidays); null without "
                   "available hours.")
def booked_hours_ratio(scope: Scope) -> dict[str, float | None]:
    held = (Appointment.objects.filter(_in_period(scope, "starts_at"),
                                       _service_q(scope, "service"), _site_q(scope, "site"),
                                       status__in=(*appointment_rules.HOLDS_TIME,
                                                   appointment_rules.DID_NOT_ATTEND))
            .order_by().values("clinician_id", "clinician__username")
            .annotate(minutes=Sum("duration_minutes")))
    booked = {row["clinician_id"]: row["minutes"] for row in held}
    names = {row["clinician_id"]: row["clinician__username"] for row in held}
    windows = WeeklyAvailability.objects.all()
    if scope.service is not None:
        windows = windows.filter(Q(service=scope.service) | Q(service__isnull=True))
    if scope.site is not None:
        windows = windows.filter(site=scope.site)
    for cid, username in windows.order_by().values_list("clinician_id", "clinician__username"):
        names.setdefault(cid, username)
    spans = open_spans_for(clinician_ids=sorted(names), program=Program.default(),
                           start=scope.start, end=scope.end,
                           service_id=getattr(scope.service, "pk", None),
                           site_id=getattr(scope.site, "pk", None))
    window = appointment_rules.Span(scope.start_at, scope.end_at)
    out = {}
    for cid in sorted(names, key=lambda c: names[c]):
        available = sum(min(s.end, window.end).timestamp() - max(s.start, window.start).timestamp()
                        for _site, s in spans.get(cid, []) if s.overlaps(window)) / 60
        out[names[cid]] = _pct(booked.get(cid, 0), round(available)) if available else None
    return out


# --- Group visits ---------------------------------------------------------------------------


_SEATED = (Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED)
_HELD = GroupSession.Status.SCHEDULED


def _count_subquery(queryset, group_field: str) -> Coalesce:
    """A correlated COUNT(*) as a scalar subquery (0 instead of NULL via Coalesce)."""
    return Coalesce(Subquery(queryset.order_by().values(group_field)
                             .annotate(c=Count("pk")).values("c")[:1],
                             output_field=IntegerField()), 0)


@metric("group_fill_rate", label="Group fill rate", unit="percent", better="up",
        definition="Seats taken (enrolled or completed) as a % of capacity, over group series "
                   "with a session in the period.")
def group_fill_rate(scope: Scope) -> float | None:
    running = Exists(GroupSession.objects.filter(_in_period(scope, "starts_at"),
                                                 series=OuterRef("pk"), status=_HELD))
    seats = _count_subquery(Enrolment.objects.filter(series=OuterRef("pk"), status__in=_SEATED),
                            "series")
    row = (GroupSeries.objects.filter(running, _service_q(scope, "service"), _site_q(scope, "site"))
           .aggregate(seats=Sum(seats), capacity=Sum("capacity")))
    return _pct(row["seats"] or 0, row["capacity"] or 0)


@metric("attendance_rate", label="Attendance rate", unit="percent", better="up", trend=True,
        definition="Of attendance marked for group sessions held in the period, the % present "
                   "(present / present + absent + late cancellation; excused and unmarked "
                   "are left out).")
def attendance_rate(scope: Scope) -> float | None:
    marked = (Attendance.Status.PRESENT, Attendance.Status.ABSENT,
              Attendance.Status.LATE_CANCEL)
    row = (Attendance.objects
           .filter(session__starts_at__gte=scope.start_at, session__starts_at__lt=scope.as_of,
                   session__status=_HELD)
           .filter(_service_q(scope, "session__series__service"),
                   _site_q(scope, "session__series__site"))
           .aggregate(n=Count("pk", filter=Q(status__in=marked)),
                      present=Count("pk", filter=Q(status=Attendance.Status.PRESENT))))
    return _pct(row["present"], row["n"])


@metric("completion_rate", label="Completion rate", unit="percent", better="up",
        definition="Of people enrolled in group series that ended in the period (withdrawals "
                   "after the first session count, earlier ones do not), the % who attended at "
                   "least 75 % of the series' held sessions.")
def completion_rate(scope: Scope) -> float | None:
    sessions = GroupSession.objects.filter(series=OuterRef("series"), status=_HELD)
    last_start = Subquery(GroupSession.objects.filter(series=OuterRef("pk"), status=_HELD)
                          .order_by("-starts_at").values("starts_at")[:1])
    ended = (GroupSeries.objects.filter(_service_q(scope, "service"), _site_q(scope, "site"))
             .annotate(last_start=last_start)
             .filter(last_start__gte=scope.start_at, last_start__lt=scope.as_of))
    held = _count_subquery(sessions.filter(starts_at__lt=scope.now), "series")
    attended = _count_subquery(
        Attendance.objects.filter(session__series=OuterRef("series"), patient=OuterRef("patient"),
                                  session__status=_HELD, status=Attendance.Status.PRESENT),
        "patient")
    first_start = Subquery(sessions.order_by("starts_at").values("starts_at")[:1])
    row = (Enrolment.objects.filter(series__in=ended.values("pk"))
           .alias(first_start=first_start)
           .filter(Q(status__in=_SEATED)
                   | Q(status=Enrolment.Status.WITHDRAWN, withdrawn_at__gte=F("first_start")))
           # Completed when attended / held >= 3/4, compared in integers: 4 * a - 3 * h >= 0.
           .alias(margin=attended * 4 - held * 3)
           .aggregate(n=Count("pk"), done=Count("pk", filter=Q(margin__gte=0))))
    return _pct(row["done"], row["n"])


@metric("waitlist_length", label="Waitlist", unit="count", better="down",
        definition="People waiting for a place in a group series who joined the waitlist before "
                   "the end of the period and are still waiting.")
def waitlist_length(scope: Scope) -> int:
    return Enrolment.objects.filter(_service_q(scope, "series__service"),
                                    _site_q(scope, "series__site"),
                                    status=Enrolment.Status.WAITLISTED,
                                    enrolled_at__lt=scope.end_at).count()


# --- Outcomes -------------------------------------------------------------------------------

FOLLOWUP_WEEK = 12
FOLLOWUP_WINDOW_DAYS = (-14, 28)  # answered from 2 weeks before to 4 weeks after the due day


@metric("followup_completion_rate_12w", label="12-week follow-up completed", unit="percent",
        better="up",
        definition="Of patients whose 12-week follow-up fell due in the period (intake date + "
                   "84 days), the % who answered a follow-up PEG from 2 weeks before to 4 "
                   "weeks after the due day.")
def followup_completion_rate_12w(scope: Scope) -> float | None:
    due_days = FOLLOWUP_WEEK * 7
    early, late = FOLLOWUP_WINDOW_DAYS
    # The window can only fall within these bounds (a day's slack for the time zone): a
    # range the (instrument, answered_at) index reads, instead of every PEG ever.
    answered = (QuestionnaireResponse.objects
                .filter(patient=OuterRef("pk"), instrument="peg",
                        answered_at__gte=scope.start_at + dt.timedelta(days=early - 1),
                        answered_at__lt=scope.end_at + dt.timedelta(days=late + 1))
                .exclude(context=QuestionnaireResponse.Context.INTAKE)
                .alias(day=DaysBetween(F("answered_at"), OuterRef("intake_date")))
                .filter(day__gte=due_days + early, day__lt=due_days + late + 1))
    due = Patient.objects.filter(_patients_of_service(scope),
                                 intake_date__gte=scope.start - dt.timedelta(days=due_days),
                                 intake_date__lte=scope.end - dt.timedelta(days=due_days))
    # EXISTS in WHERE (not inside the count): one semi-join, not a lookup per patient.
    return _pct(due.filter(Exists(answered)).count(), due.count())


@dataclass(frozen=True)
class Measure:
    """A responder measure: an instrument's headline score and how to read it in SQL.

    `scale` (from the instrument's spec) makes every stored value an integer (PEG is a mean of
    3 integer items, reported to 2 decimals: x3 recovers the item sum; PROMIS T-scores have 1
    decimal: x10), so the MCID comparison is exact integer arithmetic, as
    `outcomes.instruments.change` does it.
    """

    key: str
    label: str
    instrument: str
    score_key: str
    scale: int
    json_path: str = ""  # scores JSON path; empty: the response's primary_score

    def value(self):
        if self.json_path:
            raw = Cast(KT(f"scores__{self.json_path}"), FloatField())
        else:
            raw = Cast(F("primary_score"), FloatField())
        return Round(raw * self.scale)


# Every responder measure the instruments declare, in registry order. A top-level primary score
# is read from the indexed `primary_score` column; a nested one (PROMIS) from the scores JSON.
MEASURES = tuple(
    Measure(m.key, m.label, i.code, m.score_key, m.scale,
            "" if m.score_key == i.primary_key and "." not in m.score_key
            else m.score_key.replace(".", "__"))
    for i in all_instruments() for m in i.measures)


def _scored(measure: Measure):
    return (QuestionnaireResponse.objects.filter(instrument=measure.instrument)
            .alias(v=measure.value()).filter(v__isnull=False))


def _mcid_reached(measure: Measure, baseline, latest) -> Q:
    """Whether `latest` improves on `baseline` (both scaled values) by the measure's MCID.

    In the scaled integer unit: `gain` = (latest - baseline) x the improving direction's sign
    x the threshold's denominator must be above 0 and reach the threshold's numerator x
    (|baseline| for a relative MCID such as PEG's 30 %, the scale for points).
    """
    rule = mcid_rule(measure.instrument, measure.score_key)
    threshold = Fraction(rule.threshold)
    gain = Cast((latest - baseline) * rule.sign * threshold.denominator, FloatField())
    if rule.relative:
        need = Cast(Abs(baseline) * threshold.numerator, FloatField())
    else:
        need = Value(float(threshold.numerator * measure.scale))
    return Q(GreaterThanOrEqual(gain, need)) & Q(GreaterThan(gain, Value(0.0)))


def _followups(scope: Scope, measure: Measure):
    """Each patient's latest response in the period that is not their baseline, with
    `responder`: whether it reached the MCID against the patient's first (baseline) response.

    The comparison is evaluated inside the baseline subquery (the baseline row's value
    against the outer row's `v`), so each follow-up costs one indexed baseline lookup.
    """
    in_period = _scored(measure).filter(_in_period(scope, "answered_at"),
                                        _patients_of_service(scope, "patient"))
    later_in_period = in_period.filter(_later_than_outer("answered_at"), patient=OuterRef("patient"))
    earlier = _scored(measure).filter(_earlier_than_outer("answered_at"),
                                      patient=OuterRef("patient"))
    reached = Subquery(
        _scored(measure).filter(patient=OuterRef("patient")).order_by("answered_at", "pk")
        .annotate(reached=ExpressionWrapper(_mcid_reached(measure, F("v"), OuterRef("v")),
                                            output_field=BooleanField()))
        .values("reached")[:1], output_field=BooleanField())
    return (in_period.filter(~Exists(later_in_period), Exists(earlier))
            .annotate(responder=reached))


DOSE_BUCKETS = (  # key, label, most sessions attended (None: no upper bound)
    ("sessions_0", "No group sessions", 0),
    ("sessions_1_3", "1-3 sessions", 3),
    ("sessions_4_7", "4-7 sessions", 7),
    ("sessions_8_plus", "8+ sessions", None),
)


@_shared
def _responder_groups(scope: Scope, measure: Measure) -> list[dict]:
    """Follow-ups and responders counted per (risk group, attendance-dose bucket): one
    grouped query per measure serves the overall rate and both splits. From the daily
    roll-ups when they are current (metrics.rollups; not per service), else live."""
    if scope.service is None and _rollups_current(scope):
        return _bucketed(rollups.responder_groups(scope, measure))
    rows = _followups(scope, measure)
    dose = _count_subquery(
        Attendance.objects.filter(patient=OuterRef("patient"), status=Attendance.Status.PRESENT,
                                  session__status=_HELD,
                                  session__starts_at__lte=OuterRef("answered_at")),
        "patient")
    # Grouped by the dose itself (a handful of session counts), bucketed here: a CASE over
    # the bucket bounds would evaluate the attendance count once per bound for every row.
    # The baseline risk group (the patient's first intake), so a repeat intake never moves a
    # responder between groups; a patient with no intake recorded keeps their risk group.
    baseline_risk = Coalesce(Subquery(Intake.objects.filter(patient=OuterRef("patient"))
                                      .order_by("created_at", "pk").values("risk_group")[:1],
                                      output_field=CharField()),
                             F("patient__risk_group"))
    return _bucketed(rows.annotate(risk=baseline_risk, dose=dose).order_by()
                     .values("risk", "dose")
                     .annotate(n=Count("pk"), r=Count("pk", filter=Q(responder=True))))


def _bucketed(rows) -> list[dict]:
    """Sum {risk, dose, n, r} rows into the attendance-dose buckets."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["risk"], _dose_bucket(row["dose"]))
        group = groups.setdefault(key, {"risk": key[0], "bucket": key[1], "n": 0, "r": 0})
        group["n"] += row["n"]
        group["r"] += row["r"]
    return list(groups.values())


def _dose_bucket(sessions: int) -> str:
    for key, _, most in DOSE_BUCKETS:
        if most is None or sessions <= most:
            return key
    return DOSE_BUCKETS[-1][0]


def _responder_pct(scope: Scope, measure: Measure, **match) -> float | None:
    """The responder % over the groups matching `match` (e.g. risk="high"): the sum of a
    handful of grouped counts, not a loop over patients."""
    groups = [g for g in _responder_groups(scope, measure)
              if all(g[k] == v for k, v in match.items())]
    return _pct(sum(g["r"] for g in groups), sum(g["n"] for g in groups))


@metric("responders", label="Responders (MCID)", unit="breakdown", trend=True, better="up",
        definition="Per measure: of patients with a response in the period after their "
                   "baseline, the % whose latest response in the period improved on their "
                   "first (baseline) response by at least the MCID (PEG fall >= 30 %, PHQ-9 "
                   "fall >= 5, GAD-7 fall >= 4, PROMIS >= 3 T-score points in the improving "
                   "direction).")
def responders(scope: Scope) -> dict[str, float | None]:
    return {m.key: _responder_pct(scope, m) for m in MEASURES}


@metric("responders_by_risk_group", label="Responders by risk group", unit="breakdown",
        definition="The responder % per measure, split by the patient's baseline STarT Back "
                   "risk group (at their first intake).")
def responders_by_risk_group(scope: Scope) -> dict[str, dict[str, float | None]]:
    return {group: {m.key: _responder_pct(scope, m, risk=group) for m in MEASURES}
            for group in RiskGroup.values}


@metric("responders_by_attendance_dose", label="Responders by attendance dose",
        unit="breakdown",
        definition="The responder % per measure, split by the number of group sessions the "
                   "patient attended up to that latest response (0, 1-3, 4-7, 8+).")
def responders_by_attendance_dose(scope: Scope) -> dict[str, dict[str, float | None]]:
    return {key: {m.key: _responder_pct(scope, m, bucket=key) for m in MEASURES}
            for key, _, _ in DOSE_BUCKETS}


# --- Opioids ----------------------------------------------------------------------------------


@metric("mean_mme_intake", label="Mean MME at intake", unit="mme", better="down", trend=True,
        definition="Mean daily opioid dose (MME) at intake, over active patients with both an "
                   "intake and a latest dose recorded (the same patients as the latest mean).")
def mean_mme_intake(scope: Scope) -> float | None:
    return _round1(_patient_summary(scope)["mean_intake"])


@metric("mean_mme_latest", label="Mean MME now", unit="mme", better="down", trend=True,
        definition="Mean latest daily opioid dose (MME), over active patients with both an "
                   "intake and a latest dose recorded.")
def mean_mme_latest(scope: Scope) -> float | None:
    return _round1(_patient_summary(scope)["mean_latest"])


def _latest_dose_share(scope: Scope, count: str) -> float | None:
    summary = _patient_summary(scope)
    return _pct(summary[count], summary["known"])


@metric("pct_on_opioids", label="% on opioids", unit="percent", better="down", trend=True,
        definition="Of active patients with a latest dose recorded, the % taking any opioid "
                   "(latest MME above 0).")
def pct_on_opioids(scope: Scope) -> float | None:
    return _latest_dose_share(scope, "on_opioids")


@metric("pct_mme_50", label="% at or above 50 MME", unit="percent", better="down",
        definition="Of active patients with a latest dose recorded, the % at or above 50 MME/day.")
def pct_mme_50(scope: Scope) -> float | None:
    return _latest_dose_share(scope, "mme_50")


@metric("pct_mme_90", label="% at or above 90 MME", unit="percent", better="down",
        definition="Of active patients with a latest dose recorded, the % at or above 90 MME/day.")
def pct_mme_90(scope: Scope) -> float | None:
    return _latest_dose_share(scope, "mme_90")


# --- Satisfaction and safety ------------------------------------------------------------------


@metric("nps", label="Net Promoter Score", unit="nps", better="up",
        definition="100 x (promoters - detractors) / respondents over each patient's latest "
                   "NPS answer in the period (promoters 9-10, detractors 0-6), from -100 to 100.")
def nps(scope: Scope) -> float | None:
    ranges = spec("nps")["scoring"]["category"]
    answers = QuestionnaireResponse.objects.filter(
        _in_period(scope, "answered_at"), _patients_of_service(scope, "patient"),
        instrument="nps", primary_score__isnull=False)
    later = answers.filter(_later_than_outer("answered_at"), patient=OuterRef("patient"))
    row = answers.filter(~Exists(later)).aggregate(
        n=Count("pk"),
        promoters=Count("pk", filter=Q(primary_score__gte=ranges["promoter"][0])),
        detractors=Count("pk", filter=Q(primary_score__lte=ranges["detractor"][1])))
    if not row["n"]:
        return None
    return _pct(row["promoters"] - row["detractors"], row["n"])


@metric("open_safety_alerts", label="Open safety alerts", unit="count", better="down",
        definition="Safety alerts (PHQ-9 item 9) open at the end of the period: opened before "
                   "it ends and not acknowledged by then.")
def open_safety_alerts(scope: Scope) -> int:
    return (SafetyAlert.objects
            .filter(Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gte=scope.end_at),
                    _patients_of_service(scope, "patient"), opened_at__lt=scope.end_at)
            .count())


@metric("median_hours_to_acknowledge", label="Median hours to acknowledge", unit="hours",
        better="down",
        definition="Median time from a safety alert opening to its acknowledgement, in hours, "
                   "over alerts acknowledged in the period.")
def median_hours_to_acknowledge(scope: Scope) -> float | None:
    alerts = SafetyAlert.objects.filter(_in_period(scope, "acknowledged_at"),
                                        _patients_of_service(scope, "patient"))
    days = median(alerts, DaysBetween(F("acknowledged_at"), F("opened_at")))
    return None if days is None else _round1(days * 24)


def _working_day_hours(program) -> float:
    """The length of the program's working day: its longest opening on any weekday (8 h for
    09:00-17:00); 24 h when no hours are set."""
    spans = [(dt.datetime.combine(dt.date.min, close) - dt.datetime.combine(dt.date.min, open_))
             .total_seconds() / 3600
             for open_, close in (day for day in program_calendar(program, for_escalation=False).week
                                  if day)]
    return max(spans, default=24.0)


@_shared
def _acknowledgement_rows(scope: Scope) -> list[dict]:
    """Alerts opened in the period with their site and whether they were acknowledged within
    one working day (None while that is still unknown). The working-hours arithmetic runs on
    the program calendar in Python, over the period's alerts only (a handful a week)."""
    alerts = list(SafetyAlert.objects.filter(_in_period(scope, "opened_at"),
                                             _patients_of_service(scope, "patient"))
                  .values("opened_at", "acknowledged_at", "patient__site__code",
                          "patient__program_id"))
    programs = {p.pk: p for p in Program.objects.all()}  # one or a few rows
    calendars = {pk: (program_calendar(p, for_escalation=False), _working_day_hours(p))
                 for pk, p in programs.items()}
    rows = []
    for alert in alerts:
        calendar, day = calendars[alert["patient__program_id"]]
        acked = alert["acknowledged_at"]
        if acked is not None and acked <= scope.as_of:
            within = working_hours_between(alert["opened_at"], acked, calendar) <= day
        elif working_hours_between(alert["opened_at"], scope.as_of, calendar) > day:
            within = False  # still open after a whole working day
        else:
            within = None
        rows.append({"site": alert["patient__site__code"], "within": within})
    return rows


def _pct_within(rows) -> float | None:
    known = [row["within"] for row in rows if row["within"] is not None]
    return _pct(sum(known), len(known))


@metric("pct_acknowledged_within_working_day", label="% alerts acknowledged within a working day",
        unit="percent", better="up",
        definition="Of safety alerts opened in the period, the % acknowledged within one "
                   "working day: at most the length of the program's working day (its longest "
                   "opening, e.g. 8 h for 09:00-17:00) of working hours from opening, counted on "
                   "the program's calendar (weekends and public holidays skipped). An alert "
                   "still open after that counts as not; one still open before it is left out.")
def pct_acknowledged_within_working_day(scope: Scope) -> float | None:
    return _pct_within(_acknowledgement_rows(scope))


ACK_BY_SITE_MEASURES = {"median_hours": "Median hours to acknowledge",
                        "pct_within_working_day": "% within a working day"}


@metric("alert_acknowledgement_by_site", label="Safety-alert acknowledgement by site",
        unit="breakdown",
        definition="Per site (the patient's): the median hours to acknowledge over alerts "
                   "acknowledged in the period, and the % of alerts opened in the period "
                   "acknowledged within one working day (as defined above).")
def alert_acknowledgement_by_site(scope: Scope) -> dict[str, dict[str, float | None]]:
    rows = _acknowledgement_rows(scope)
    acknowledged = SafetyAlert.objects.filter(_in_period(scope, "acknowledged_at"),
                                              _patients_of_service(scope, "patient"))
    out = {}
    sites = Site.objects.order_by("pk")
    if scope.site is not None:
        sites = sites.filter(pk=scope.site.pk)
    for code in sites.values_list("code", flat=True):
        days = median(acknowledged.filter(patient__site__code=code),
                      DaysBetween(F("acknowledged_at"), F("opened_at")))
        out[code] = {"median_hours": None if days is None else _round1(days * 24),
                     "pct_within_working_day": _pct_within([r for r in rows if r["site"] == code])}
    return out


# --- Care management (SPEC §9) ------------------------------------------------------------------

CONTACT_WINDOW_DAYS = 30
STEP_UP_WITHIN_DAYS = 14
NOT_IMPROVING_AFTER_DAYS = rollups.NOT_IMPROVING_AFTER_DAYS  # outcomes.progress: 12 weeks


@metric("pct_contacted_30d", label="% reached by a care manager in 30 days", unit="percent",
        better="up",
        definition="Of the patients in care management at the end of the period (care step 2 "
                   "or 3, or a named care manager), the % a care manager reached (a contact "
                   "with outcome 'reached') in the 30 days up to the end of the period.")
def pct_contacted_30d(scope: Scope) -> float | None:
    end = scope.as_of
    reached = Contact.objects.filter(
        patient=OuterRef("pk"), outcome=Contact.Outcome.REACHED, contacted_at__lt=end,
        contacted_at__gte=end - dt.timedelta(days=CONTACT_WINDOW_DAYS))
    row = (Patient.objects
           .filter(Q(step__gte=2) | Q(care_manager__isnull=False), _patients_of_service(scope))
           .aggregate(n=Count("pk"), done=Count("pk", filter=Q(Exists(reached)))))
    return _pct(row["done"], row["n"])


def _median_of_column(queryset, column: str) -> float | None:
    """The median of one column of an aggregated (GROUP BY) queryset, in one SQL query."""
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        wrapped = (f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY _g.{column}) "  # nosec B608 - ORM-compiled SQL, values are params
                   f"FROM ({sql}) AS _g")
    else:
        wrapped = (f"SELECT AVG(v) FROM (SELECT _g.{column} AS v, "  # nosec B608 - as above
                   f"ROW_NUMBER() OVER (ORDER BY _g.{column}) AS rn, COUNT(*) OVER () AS n "
                   f"FROM ({sql}) AS _g) AS _r WHERE rn IN ((n + 1) / 2, (n + 2) / 2)")
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])


@metric("median_care_minutes_per_month", label="Median care-management minutes a month",
        unit="minutes",
        definition="Median of the care-management minutes (care-manager contacts) per patient "
                   "per calendar month, over each patient and calendar month with contact "
                   "minutes in the period.")
def median_care_minutes_per_month(scope: Scope) -> float | None:
    grouped = (Contact.objects
               .filter(_in_period(scope, "contacted_at"), _patients_of_service(scope, "patient"),
                       minutes__gt=0)
               .annotate(month=TruncMonth("contacted_at", tzinfo=timezone.get_default_timezone()))
               .order_by().values("patient_id", "month").annotate(total=Sum("minutes"))
               .values("total"))
    value = _median_of_column(grouped, "total")
    return None if value is None else _round1(value)


def _not_improving_pegs(scope: Scope):
    """PEG follow-ups answered in the period, 12 weeks or more after the intake date, that do
    not improve on the patient's first PEG by the MCID (a fall of >= 30 %, and a fall at all:
    a baseline of 0 cannot improve): each one sets `not_improving` (outcomes.progress, where
    it is "not a responder"). Compared as item sums (score x 3), exactly."""
    baseline = Subquery(QuestionnaireResponse.objects
                        .filter(patient_id=OuterRef("patient_id"), instrument="peg")
                        .order_by("answered_at", "pk").values("pk")[:1])
    baseline_sum = Subquery(QuestionnaireResponse.objects
                            .filter(patient_id=OuterRef("patient_id"), instrument="peg")
                            .order_by("answered_at", "pk")
                            .annotate(s=Round(Cast(F("primary_score"), FloatField()) * 3))
                            .values("s")[:1])
    return (QuestionnaireResponse.objects
            .filter(_in_period(scope, "answered_at"), _patients_of_service(scope, "patient"),
                    instrument="peg", patient__intake_date__isnull=False)
            .alias(days=DaysBetween(F("answered_at"), F("patient__intake_date")),
                   base_id=baseline, base_sum=baseline_sum,
                   latest_sum=Round(Cast(F("primary_score"), FloatField()) * 3))
            .filter(days__gte=NOT_IMPROVING_AFTER_DAYS)
            .exclude(pk=F("base_id"))
            .filter(Q(GreaterThan(F("latest_sum") * 10, F("base_sum") * 7))
                    | Q(GreaterThanOrEqual(F("latest_sum"), F("base_sum")))))


@metric("pct_step_up_after_not_improving_2w", label="Stepped up within 2 weeks of not improving",
        unit="percent", better="up",
        definition="Of the patients flagged not improving in the period (a PEG follow-up at 12 "
                   "weeks or later without a 30 % improvement on baseline), the % with a "
                   "step-up decision within 14 days after that PEG.")
def pct_step_up_after_not_improving_2w(scope: Scope) -> float | None:
    # The flagged PEGs come from the roll-up facts when they are current (each one's
    # baseline already compared), else from the live query.
    if scope.service is None and _rollups_current(scope):
        flagged, answered = rollups.not_improving_facts(scope), "response__answered_at"
    else:
        flagged, answered = _not_improving_pegs(scope), "answered_at"
    stepped = StepDecision.objects.filter(
        patient_id=OuterRef("patient_id"), direction=StepDecision.Direction.UP,
        decided_at__gte=OuterRef(answered),
        decided_at__lte=OuterRef(answered) + dt.timedelta(days=STEP_UP_WITHIN_DAYS))
    # Two counts, the second with EXISTS in WHERE: the database answers it as one semi-join
    # instead of a lookup per flagged row.
    patients = flagged.order_by().values("patient_id").distinct()
    return _pct(patients.filter(Exists(stepped)).count(), patients.count())


PSFS = "psfs"


@metric("psfs_responders", label="PSFS responders", unit="percent", better="up",
        definition="Of the patients who answered the Patient-Specific Functional Scale in the "
                   "period after their first PSFS, the % whose latest mean rating in the "
                   "period rose from the first by at least the PSFS MCID (2 points).")
def psfs_responders(scope: Scope) -> float | None:
    threshold = float(mcid_rule(PSFS, "score").threshold)
    psfs = QuestionnaireResponse.objects.filter(patient_id=OuterRef("pk"), instrument=PSFS)
    first = psfs.order_by("answered_at", "pk")
    latest = psfs.filter(_in_period(scope, "answered_at")).order_by("-answered_at", "-pk")
    answered = QuestionnaireResponse.objects.filter(_in_period(scope, "answered_at"),
                                                    instrument=PSFS).values("patient_id")
    row = (Patient.objects.filter(_patients_of_service(scope), pk__in=answered)
           .annotate(first_id=Subquery(first.values("pk")[:1]),
                     first_score=Subquery(first.values("primary_score")[:1]),
                     latest_id=Subquery(latest.values("pk")[:1]),
                     latest_score=Subquery(latest.values("primary_score")[:1]))
           .filter(latest_id__isnull=False).exclude(latest_id=F("first_id"))
           # Means of at most five whole ratings differ by multiples of 1/20 at the finest;
           # the 2-decimal rounding is absorbed by a 0.01 tolerance without misclassifying.
           .aggregate(n=Count("pk"), done=Count("pk", filter=Q(
               latest_score__gte=F("first_score") + (threshold - 0.01)))))
    return _pct(row["done"], row["n"])


# --- Labels for breakdown keys (dashboard, CSV) ------------------------------------------------

SUBKEY_LABELS: dict[str, dict[str, str]] = {
    "risk_mix": dict(RiskGroup.choices),
    "referrals_by_state": dict(Referral.Status.choices),
    "responders": {m.key: m.label for m in MEASURES},
    "responders_by_risk_group": dict(RiskGroup.choices),
    "responders_by_attendance_dose": {key: label for key, label, _ in DOSE_BUCKETS},
}
# Labels of the second level of a breakdown that is not a responder split.
INNER_LABELS: dict[str, dict[str, str]] = {
    "alert_acknowledgement_by_site": ACK_BY_SITE_MEASURES,
}
MEASURE_LABELS = {m.key: m.label for m in MEASURES}
