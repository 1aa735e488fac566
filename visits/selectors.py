"""Reads for group programmes: counts as annotations, related rows fetched up front, so
every list costs the same few queries whatever its length."""

from datetime import timedelta

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from patients.scoping import visible

from .completion import attendance_percent
from .models import Attendance, Enrolment, GroupSeries, GroupSession
from .services import PLACE_HOLDING

SCHEDULED = GroupSession.Status.SCHEDULED


class _SubqueryCount(Subquery):
    """A correlated COUNT(*) over a queryset: `(SELECT COUNT(*) FROM (...) _c)`."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _c)"
    output_field = IntegerField()


def _count(qs) -> _SubqueryCount:
    return _SubqueryCount(qs.order_by().values("pk"))


def series_queryset(*, now=None, user=None) -> QuerySet[GroupSeries]:
    """Series with `enrolled_count` (people holding a place), `waitlisted_count`,
    `session_count` (not cancelled), `next_session_at` and `first_session_at`."""
    now = now or timezone.now()
    sessions = GroupSession.objects.filter(series=OuterRef("pk"), status=SCHEDULED)
    return (visible(GroupSeries.objects.select_related("service", "lead_clinician", "site"),
                    user, None)
            .annotate(
                enrolled_count=Count("enrolments", filter=Q(enrolments__status__in=PLACE_HOLDING)),
                waitlisted_count=Count("enrolments",
                                       filter=Q(enrolments__status=Enrolment.Status.WAITLISTED)),
                session_count=_count(sessions),
                next_session_at=Subquery(sessions.filter(starts_at__gte=now)
                                         .order_by("starts_at").values("starts_at")[:1]),
                first_session_at=Subquery(sessions.order_by("starts_at").values("starts_at")[:1]),
            ))


def series_list(*, ended: bool = False, user=None, site=None) -> QuerySet[GroupSeries]:
    """Running and upcoming series of ``user``'s sites (soonest first), or ended ones;
    only ``site``'s when given."""
    qs = series_queryset(user=user)
    if site is not None:
        qs = qs.filter(site_id=getattr(site, "pk", site))
    if ended:
        return qs.filter(completed_at__isnull=False).order_by("-completed_at", "-pk")
    return qs.filter(completed_at__isnull=True).order_by(
        Coalesce("next_session_at", "first_session_at").asc(nulls_last=True), "-pk")


def series_for_api(user=None) -> QuerySet[GroupSeries]:
    """As `series_queryset`, with sessions and facilitators prefetched."""
    return series_queryset(user=user).prefetch_related(
        "facilitators",
        Prefetch("sessions", queryset=GroupSession.objects.order_by("starts_at", "pk")
                 .prefetch_related("facilitators")),
    ).order_by("-created_at", "-pk")


def series_detail(pk: int, user=None) -> GroupSeries:
    return series_queryset(user=user).prefetch_related("facilitators").get(pk=pk)


def available_places(series: GroupSeries) -> int:
    return max(series.capacity - series.enrolled_count, 0)


def series_sessions(series: GroupSeries) -> list[GroupSession]:
    """The series' sessions with their lead, facilitators and attendance counts."""
    present = Attendance.objects.filter(session=OuterRef("pk"), status=Attendance.Status.PRESENT)
    marked = Attendance.objects.filter(session=OuterRef("pk")).exclude(
        status=Attendance.Status.UNRESOLVED)
    return list(series.sessions.select_related("lead_clinician").prefetch_related("facilitators")
                .annotate(present_count=_count(present),
                          marked_count=_count(marked))
                .order_by("starts_at", "pk"))


def roster(series: GroupSeries, user=None) -> dict[str, list[Enrolment]]:
    """Enrolments by status: `enrolled` (incl. completed) by name, `waitlisted` in
    waitlist order with `position` set, `withdrawn` (patients of ``user``'s sites only)."""
    rows = list(visible(Enrolment.objects.filter(series=series), user).select_related("patient")
                .order_by("patient__family_name", "patient__given_name", "pk"))
    out = {"enrolled": [], "waitlisted": [], "withdrawn": []}
    for e in rows:
        if e.status in PLACE_HOLDING:
            out["enrolled"].append(e)
        elif e.status == Enrolment.Status.WAITLISTED:
            out["waitlisted"].append(e)
        else:
            out["withdrawn"].append(e)
    out["waitlisted"].sort(key=lambda e: e.waitlist_seq)
    for i, e in enumerate(out["waitlisted"], start=1):
        e.position = i
    return out


def upcoming_sessions(*, now=None, days: int = 56, series: GroupSeries | None = None,
                      limit: int | None = None, user=None, site=None) -> list[GroupSession]:
    """Scheduled sessions from the start of today (program time) for `days` days, with
    their series, service and lead, and the series' `enrolled_count` (only ``site``'s
    series when given)."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    enrolled = Enrolment.objects.filter(series=OuterRef("series_id"), status__in=PLACE_HOLDING)
    qs = (GroupSession.objects.filter(status=SCHEDULED, starts_at__gte=start,
                                      starts_at__lt=start + timedelta(days=days))
          .select_related("series", "series__service", "lead_clinician")
          .annotate(enrolled_count=_count(enrolled))
          .order_by("starts_at", "pk"))
    qs = visible(qs, user, "series")  # series carry their own site: series__site_id
    if series is not None:
        qs = qs.filter(series=series)
    if site is not None:
        qs = qs.filter(series__site_id=getattr(site, "pk", site))
    return list(qs[:limit] if limit else qs)


def attendance_sheet(session: GroupSession, user=None) -> list[dict]:
    """One row per person on the session's roster: everyone holding a place in the series,
    plus anyone whose attendance was marked before they withdrew. Each row: `enrolment`,
    `patient`, `status` (`unresolved` until marked), `attendance` (or None), `markable`."""
    marked_here = Attendance.objects.filter(session=session, patient=OuterRef("patient_id"))
    enrolments = (visible(Enrolment.objects.filter(series_id=session.series_id), user)
                  .filter(Q(status__in=PLACE_HOLDING) | Q(Exists(marked_here)))
                  .select_related("patient")
                  .order_by("patient__family_name", "patient__given_name", "pk"))
    by_patient = {a.patient_id: a for a in Attendance.objects.filter(session=session)}
    rows = []
    for e in enrolments:
        att = by_patient.get(e.patient_id)
        rows.append({"enrolment": e, "patient": e.patient, "attendance": att,
                     "status": att.status if att else Attendance.Status.UNRESOLVED,
                     "markable": e.status in PLACE_HOLDING})
    return rows


def sheet_summary(rows: list[dict]) -> dict:
    counts = {s: 0 for s in Attendance.Status.values}
    for r in rows:
        counts[r["status"]] += 1
    return {"total": len(rows), **counts}


def enrolments_for_patient(patient, *, now=None) -> list[Enrolment]:
    """A person's group programmes for their patient page, newest first. Each enrolment
    has `series` (with `service`), `waitlist_position` (1-based, or None), `next_session_at`
    and `summary`: counts over the series' held sessions (scheduled, started by now) of
    `present`, `absent`, `late_cancel`, `excused`, `unresolved`, plus `held` and `percent`
    (attended / held, rounded down). Two queries."""
    now = now or timezone.now()
    held = GroupSession.objects.filter(series=OuterRef("series_id"), status=SCHEDULED,
                                       starts_at__lt=now)
    ahead = Enrolment.objects.filter(series=OuterRef("series_id"),
                                     status=Enrolment.Status.WAITLISTED,
                                     waitlist_seq__lte=OuterRef("waitlist_seq"))
    enrolments = list(
        Enrolment.objects.filter(patient=patient)
        .select_related("series", "series__service")
        .annotate(held_count=_count(held),
                  ahead_count=_count(ahead),
                  next_session_at=Subquery(
                      GroupSession.objects.filter(series=OuterRef("series_id"), status=SCHEDULED,
                                                  starts_at__gte=now)
                      .order_by("starts_at").values("starts_at")[:1]))
        .order_by("-enrolled_at", "-pk"))
    counts: dict[tuple[int, str], int] = {}
    if enrolments:
        for series_id, status, n in (
                Attendance.objects.filter(patient=patient, session__status=SCHEDULED,
                                          session__starts_at__lt=now,
                                          session__series_id__in=[e.series_id for e in enrolments])
                .values_list("session__series_id", "status").annotate(n=Count("pk"))
                .order_by()):
            counts[(series_id, status)] = n
    for e in enrolments:
        by_status = {s: counts.get((e.series_id, s), 0) for s in
                     (Attendance.Status.PRESENT, Attendance.Status.ABSENT,
                      Attendance.Status.LATE_CANCEL, Attendance.Status.EXCUSED)}
        marked = sum(by_status.values())
        e.summary = {**by_status, "held": e.held_count,
                     "unresolved": max(e.held_count - marked, 0),
                     "percent": attendance_percent(attended=by_status["present"],
                                                   held=e.held_count)}
        e.waitlist_position = (e.ahead_count if e.status == Enrolment.Status.WAITLISTED
                               else None)
    return enrolments
