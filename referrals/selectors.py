"""Reads for referrals: the triage queue with its SLA clock computed in the database, the
home-page summary, the referral page, and the MDT agenda.

The SLA clock (the same definition in the API schema, the pages and the digest):

- `days_waiting`: whole days (24-hour periods, rounded down) from `referred_at` to the
  first visit, or to the closing of the referral (discharged/declined/cancelled) when that
  came first, or else to now. It keeps counting while the person waits and stops once
  they have been seen or the referral is closed.
- `sla_breached`: the referral is still `new` and `days_waiting` is greater than the
  service's `sla_triage_days`; or it is `triaged`/`scheduled` (triaged, no first visit yet)
  and `days_waiting` is greater than the service's `sla_first_visit_days`. Referrals in
  treatment or closed are never flagged.
"""

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ipm import roles
from patients.scoping import visible

from . import transitions as t
from .models import MdtAgendaItem, MdtAttendee, MdtMeeting, Referral, ReferralEvent, Service


class WholeDaysBetween(Func):
    """Whole days elapsed from `start` to `end`, rounded down, on PostgreSQL and SQLite.
    (Django's Extract on a duration needs a native interval type, which SQLite lacks.)"""

    output_field = IntegerField()
    arity = 2

    def __init__(self, start, end, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - other backends
        return self.as_postgresql(compiler, connection, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection,
            template="CAST(FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400) AS integer)",
            arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection,
            template="CAST(FLOOR(julianday(%(expressions)s)) AS integer)",
            arg_joiner=") - julianday(", **extra)


def days_waiting_expression(now=None):
    now = now or timezone.now()
    end = Coalesce("first_visit_at", "closed_at", Value(now, output_field=DateTimeField()),
                   output_field=DateTimeField())
    return WholeDaysBetween("referred_at", end)


def sla_breached_expression():
    """Uses the `days_waiting` annotation (annotate it first)."""
    return Case(
        When(status=t.NEW, days_waiting__gt=F("service__sla_triage_days"), then=Value(True)),
        When(status__in=(t.TRIAGED, t.SCHEDULED),
             days_waiting__gt=F("service__sla_first_visit_days"), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def referrals_with_sla(qs: QuerySet | None = None, *, now=None) -> QuerySet:
    """Referrals annotated with `days_waiting` and `sla_breached` (see module docstring)."""
    qs = Referral.objects.all() if qs is None else qs
    return qs.annotate(days_waiting=days_waiting_expression(now)).annotate(
        sla_breached=sla_breached_expression())


# --- The queue ---------------------------------------------------------------------------

OPEN = "open"          # every non-final state
WAITING = "waiting"    # new, triaged, scheduled: the SLA clock is running
ORDERINGS = {
    # Urgent first, then longest waiting: the coordinator's default.
    "": ("priority_rank", "referred_at", "pk"),
    "priority": ("priority_rank", "referred_at", "pk"),
    "-priority": ("-priority_rank", "referred_at", "pk"),
    "days_waiting": ("days_waiting", "-referred_at", "pk"),
    "-days_waiting": ("-days_waiting", "referred_at", "pk"),
    "referred_at": ("referred_at", "pk"),
    "-referred_at": ("-referred_at", "-pk"),
}


def parse_statuses(value: str | list | tuple | None) -> tuple[str, ...]:
    """'open' → the open states; 'waiting' → awaiting a first visit; 'new,triaged' → both;
    '' → no filter."""
    if not value:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for part in (p.strip() for p in parts):
        if part == OPEN:
            out += list(t.OPEN_STATES)
        elif part == WAITING:
            out += list(t.AWAITING_FIRST_VISIT)
        elif part:
            out.append(part)
    return tuple(dict.fromkeys(out))


def referral_queue(*, user=None, status=None, service: str | None = None,
                   priority: str | None = None, assignee=None, breached: bool | None = None,
                   patient: int | None = None, ordering: str = "", now=None) -> QuerySet:
    """The triage queue: filtered, annotated with the SLA clock, ordered, with everything a
    row shows joined in (one query per page whatever its size).

    `assignee`: a user id, "me" (needs `user`), or "none" (unassigned)."""
    qs = visible(Referral.objects.all(), user)
    statuses = parse_statuses(status)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if service:
        qs = qs.filter(service__code=service)
    if priority:
        qs = qs.filter(priority=priority)
    if assignee not in (None, ""):
        if assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        elif assignee == "me":
            qs = qs.filter(assignee=user)
        else:
            qs = qs.filter(assignee_id=int(assignee))
    if patient:
        qs = qs.filter(patient_id=patient)
    if breached:
        # Only referrals awaiting a first visit can be over their SLA: say so, and the
        # status index narrows the rows the clock is computed for.
        qs = qs.filter(status__in=t.AWAITING_FIRST_VISIT)
    annotated = referrals_with_sla(qs.select_related("patient", "service", "assignee"), now=now)
    if breached is not None:
        annotated = annotated.filter(sla_breached=breached)
    else:
        annotated = annotated.count_from(qs)  # COUNT without the SLA clock's join
    order = ORDERINGS.get(ordering or "", ORDERINGS[""])
    if statuses and set(statuses) <= set(t.AWAITING_FIRST_VISIT) and "days_waiting" in ordering:
        # Nobody here has been seen or closed, so the clock runs to now for every row:
        # sorting by days waiting is sorting by referral date, which an index serves.
        order = ("referred_at", "pk") if ordering.startswith("-") else ("-referred_at", "-pk")
    return annotated.order_by(*order)


def referral_get(pk: int, *, now=None, user=None) -> Referral:
    """One referral with its SLA clock and the rows its page shows (of ``user``'s sites)."""
    return referrals_with_sla(
        visible(Referral.objects.select_related("patient", "service", "assignee", "referred_by"),
                user),
        now=now,
    ).get(pk=pk)


def referral_events(referral: Referral) -> QuerySet:
    return ReferralEvent.objects.filter(referral=referral).select_related("actor")


def referrals_with_history(*, now=None, user=None) -> QuerySet:
    """For the API detail: referrals with their history, two queries for one referral."""
    return referrals_with_sla(
        visible(Referral.objects.select_related("service"), user).prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor"))),
        now=now,
    )


def patient_other_referrals(referral: Referral, *, now=None) -> QuerySet:
    return referrals_with_sla(
        Referral.objects.filter(patient_id=referral.patient_id).exclude(pk=referral.pk)
        .select_related("service"), now=now,
    ).order_by("-referred_at")


def queue_summary(*, now=None, user=None) -> dict:
    """For the coordinator's home page: new referrals, and open ones over their SLA."""
    row = referrals_with_sla(visible(Referral.objects.filter(status__in=t.AWAITING_FIRST_VISIT),
                                     user),
                             now=now).aggregate(
        new=Count("pk", filter=Q(status=t.NEW)),
        breached=Count("pk", filter=Q(sla_breached=True)),
    )
    return {"new": row["new"] or 0, "breached": row["breached"] or 0}


def services_active() -> QuerySet:
    return Service.objects.filter(active=True).order_by("name")


def staff_for_assignment() -> QuerySet:
    """Users a referral can be assigned to: active holders of a patient-facing role."""
    User = get_user_model()
    return (User.objects.filter(is_active=True)
            .filter(Q(groups__name__in=roles.PATIENT_ROLES) | Q(is_superuser=True))
            .distinct().order_by("first_name", "last_name", "username"))


def clinicians() -> QuerySet:
    User = get_user_model()
    return (User.objects.filter(is_active=True, groups__name=roles.CLINICIAN)
            .distinct().order_by("first_name", "last_name", "username"))


# --- MDT ---------------------------------------------------------------------------------

def _open_disciplines_subquery():
    """How many distinct disciplines the referral's patient has open referrals in."""
    return Subquery(
        Referral.objects.filter(patient_id=OuterRef("patient_id"), status__in=t.OPEN_STATES)
        .order_by().values("patient_id")
        .annotate(n=Count("service__discipline", distinct=True)).values("n")[:1],
        output_field=IntegerField(),
    )


def complexity_criteria(referral: Referral, open_disciplines: int | None = None) -> list[str]:
    """Why a referral is complex enough for the MDT (pure, from loaded fields)."""
    out = []
    patient = referral.patient
    if patient.red_flag:
        out.append(MdtAgendaItem.Criterion.RED_FLAG.value)
    if patient.risk_group == "high":
        out.append(MdtAgendaItem.Criterion.HIGH_RISK.value)
    if (open_disciplines or 0) >= 2:
        out.append(MdtAgendaItem.Criterion.MULTIPLE_DISCIPLINES.value)
    if referral.needs_mdt:
        out.append(MdtAgendaItem.Criterion.REQUESTED.value)
    return out


def open_disciplines_count(referral: Referral) -> int:
    return (Referral.objects.filter(patient_id=referral.patient_id, status__in=t.OPEN_STATES)
            .values("service__discipline").distinct().count())


def mdt_candidates(*, now=None, user=None) -> QuerySet:
    """Referrals for the MDT agenda, on no undecided agenda yet: new referrals that are
    complex (red flags, high STarT Back risk, open referrals in two or more disciplines),
    and new or triaged ones for which someone requested MDT review."""
    pending = MdtAgendaItem.objects.filter(referral_id=OuterRef("pk"), decision="")
    qs = referrals_with_sla(
        visible(Referral.objects.filter(status__in=(t.NEW, t.TRIAGED)), user)
        .select_related("patient", "service"), now=now,
    ).annotate(open_disciplines=_open_disciplines_subquery(), on_agenda=Exists(pending))
    complex_new = Q(status=t.NEW) & (Q(patient__red_flag=True) | Q(patient__risk_group="high")
                                     | Q(open_disciplines__gte=2))
    return qs.filter(complex_new | Q(needs_mdt=True), on_agenda=False).order_by(
        "priority_rank", "referred_at", "pk")


def mdt_meetings_upcoming(*, now=None) -> QuerySet:
    """Meetings from the start of today on, with their agenda counts."""
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return (MdtMeeting.objects.filter(scheduled_for__gte=start_of_day)
            .annotate(item_count=Count("items", distinct=True),
                      pending_count=Count("items", filter=Q(items__decision=""), distinct=True))
            .order_by("scheduled_for", "pk"))


def mdt_meetings_past(*, now=None, limit: int = 10) -> list:
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return list(MdtMeeting.objects.filter(scheduled_for__lt=start_of_day)
                .annotate(item_count=Count("items", distinct=True),
                          pending_count=Count("items", filter=Q(items__decision=""),
                                              distinct=True))
                .order_by("-scheduled_for", "-pk")[:limit])


def mdt_meeting_get(pk: int, *, now=None, user=None) -> MdtMeeting:
    """A meeting with attendees and agenda (referral, patient, service, decision details)
    in a constant number of queries; only the agenda items of ``user``'s sites' patients."""
    items = (visible(MdtAgendaItem.objects.all(), user, "referral__patient").select_related("referral__patient", "referral__service",
                                                  "referral__assignee", "decided_by")
             .prefetch_related("decided_services", "joint_clinicians",
                               "created_referrals__service")
             .order_by("position", "pk"))
    return (MdtMeeting.objects.select_related("created_by")
            .prefetch_related(Prefetch("attendees", queryset=MdtAttendee.objects
                                       .select_related("user").order_by("discipline", "pk")),
                              Prefetch("items", queryset=items))
            .get(pk=pk))


def mdt_items_for_referral(referral: Referral) -> QuerySet:
    return (MdtAgendaItem.objects.filter(referral=referral).select_related("meeting")
            .order_by("-meeting__scheduled_for"))
