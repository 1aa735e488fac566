"""Every write to group programmes goes through here: pages, API, demo data and tasks.

Capacity is the rule that must never break (docs/product.md §3.3). Each service that changes who
holds a place (enrol, withdraw, promote, completion) first locks the series row with
`select_for_update()`, so seat counting and waitlist numbering are serialised per series;
the unique constraint (one enrolment per person per series) and the waitlist constraints
back it up in the database.

Lock order, to stay free of deadlocks: series -> enrolment -> referral (enrol, withdraw,
completion), and session -> enrolment -> referral (attendance); nothing locks a series or a
session while holding an enrolment.
"""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from ipm import roles
from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput, NotFound
from patients.models import Program
from patients.services import site_for_new_record, site_validate
from referrals import transitions as rt
from referrals.models import Referral
from referrals.services import referral_transition

from . import session_reminders
from .completion import has_completed
from .models import Attendance, Enrolment, GroupSeries, GroupSession
from .recurrence import MAX_DURATION_MINUTES, PlannedSession

User = get_user_model()

# People who hold a place in the series (completed people keep theirs).
PLACE_HOLDING = (Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED)
ACTIVE = (Enrolment.Status.ENROLLED, Enrolment.Status.WAITLISTED, Enrolment.Status.COMPLETED)
MARKABLE = (Attendance.Status.PRESENT, Attendance.Status.ABSENT,
            Attendance.Status.LATE_CANCEL, Attendance.Status.EXCUSED)


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


# --- Series and sessions ------------------------------------------------------------------

def _check_lead(lead_clinician) -> None:
    if lead_clinician is not None and not roles.has_role(lead_clinician, roles.CLINICIAN):
        raise InvalidInput("The billable lead must be a clinician.",
                           {"lead_clinician": ["This user does not hold the clinician role."]})


def _check_sessions(sessions: Iterable[PlannedSession]) -> list[PlannedSession]:
    sessions = list(sessions)
    errors = []
    for i, s in enumerate(sessions):
        if not isinstance(s.starts_at, datetime) or timezone.is_naive(s.starts_at):
            errors.append(f"Session {i + 1}: the start needs a date, a time and a time zone.")
        if not 1 <= int(s.duration_minutes) <= MAX_DURATION_MINUTES:
            errors.append(f"Session {i + 1}: the duration must be 1 to "
                          f"{MAX_DURATION_MINUTES} minutes.")
    if errors:
        raise InvalidInput("Some sessions are not valid.", {"sessions": errors})
    return sessions


@transaction.atomic
def series_create(*, name: str, service, capacity: int, actor, lead_clinician=None,
                  facilitators: Iterable = (), location: str = "", video_link: str = "",
                  sessions: Iterable[PlannedSession] = (), site=None) -> GroupSeries:
    """A new series and its sessions at ``site`` (default: the creator's one site, else 400
    naming ``site``; a chosen site must be one the creator works at). Each session's
    billable lead and non-billable facilitators default from the series."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = ["This field is required."]
    if capacity is None or int(capacity) < 1:
        errors["capacity"] = ["Capacity must be at least 1."]
    if errors:
        raise InvalidInput("The series could not be created.", errors)
    _check_lead(lead_clinician)
    sessions = _check_sessions(sessions)
    facilitators = list(facilitators)
    program = Program.default()
    if site is None:
        site = site_for_new_record(program=program, actor=actor)
    else:
        site_validate(site, program, actor)
    series = GroupSeries.objects.create(
        name=name, service=service, capacity=int(capacity), lead_clinician=lead_clinician, site=site,
        location=(location or "").strip(), video_link=(video_link or "").strip())
    if facilitators:
        series.facilitators.set(facilitators)
    created = GroupSession.objects.bulk_create([
        GroupSession(series=series, starts_at=s.starts_at, duration_minutes=s.duration_minutes,
                     lead_clinician=lead_clinician) for s in sessions])
    if facilitators and created:
        through = GroupSession.facilitators.through
        through.objects.bulk_create([through(groupsession_id=s.pk, user_id=u.pk)
                                     for s in created for u in facilitators])
    audit_record(actor=actor, action="create", obj=series,
                 detail={"sessions": len(created), "capacity": series.capacity})
    return series


def _place_holders(series) -> list:
    return [e.patient for e in Enrolment.objects.filter(
        series=series, status=Enrolment.Status.ENROLLED).select_related("patient")]


@transaction.atomic
def sessions_add(*, series: GroupSeries, sessions: Iterable[PlannedSession], actor,
                 ) -> list[GroupSession]:
    """Add sessions to a series (defaults from the series) and schedule the enrolled
    people's reminders for them."""
    series = GroupSeries.objects.select_for_update().get(pk=series.pk)
    if series.completed_at is not None:
        raise Conflict("This series has ended; sessions can no longer be added.")
    sessions = _check_sessions(sessions)
    facilitators = list(series.facilitators.all())
    created = []
    for s in sessions:
        session = GroupSession.objects.create(series=series, starts_at=s.starts_at,
                                              duration_minutes=s.duration_minutes,
                                              lead_clinician=series.lead_clinician)
        if facilitators:
            session.facilitators.set(facilitators)
        created.append(session)
    session_reminders.schedule_for(sessions=created, patients=_place_holders(series))
    audit_record(actor=actor, action="sessions_add", obj=series,
                 detail={"sessions": [s.pk for s in created]})
    return created


@transaction.atomic
def session_update(*, session: GroupSession, actor, starts_at: datetime | None = None,
                   duration_minutes: int | None = None, lead_clinician=None,
                   facilitators: Iterable | None = None, set_lead: bool = False) -> GroupSession:
    """Edit a session's date, duration and linked clinicians. A moved session has its
    pending reminders moved with it."""
    session = GroupSession.objects.select_for_update().select_related("series").get(pk=session.pk)
    if session.status == GroupSession.Status.CANCELLED:
        raise Conflict("This session is cancelled and cannot be edited.")
    changed = []
    if starts_at is not None and starts_at != session.starts_at:
        _check_sessions([PlannedSession(starts_at, duration_minutes or session.duration_minutes)])
        session.starts_at = starts_at
        changed.append("starts_at")
    if duration_minutes is not None and duration_minutes != session.duration_minutes:
        _check_sessions([PlannedSession(session.starts_at, duration_minutes)])
        session.duration_minutes = duration_minutes
        changed.append("duration_minutes")
    if set_lead and lead_clinician != session.lead_clinician:
        _check_lead(lead_clinician)
        session.lead_clinician = lead_clinician
        changed.append("lead_clinician")
    if changed:
        session.save(update_fields=changed)
    if facilitators is not None:
        session.facilitators.set(list(facilitators))
        changed.append("facilitators")
    if "starts_at" in changed:
        session_reminders.cancel_for_session(session)
        session_reminders.schedule_for(sessions=[session],
                                       patients=_place_holders(session.series))
    audit_record(actor=actor, action="update", obj=session, detail={"fields": changed})
    return session


@transaction.atomic
def session_cancel(*, session: GroupSession, actor) -> GroupSession:
    """Cancel a session: it no longer counts as held, and its pending reminders are
    cancelled. A session whose attendance has been marked is refused (it happened)."""
    session = GroupSession.objects.select_for_update().get(pk=session.pk)
    if session.status == GroupSession.Status.CANCELLED:
        raise Conflict("This session is already cancelled.", {"status": ["Already cancelled."]})
    if session.attendance.exclude(status=Attendance.Status.UNRESOLVED).exists():
        raise Conflict("Attendance has been marked for this session, so it took place and "
                       "cannot be cancelled.")
    session.status = GroupSession.Status.CANCELLED
    session.cancelled_at = timezone.now()
    session.save(update_fields=["status", "cancelled_at"])
    cancelled = session_reminders.cancel_for_session(session)
    audit_record(actor=actor, action="cancel", obj=session,
                 detail={"reminders_cancelled": cancelled})
    return session


# --- Enrolment and the waitlist ---------------------------------------------------------

def waitlist_position(enrolment: Enrolment) -> int | None:
    """1-based place in the series' waitlist, or None when not waitlisted."""
    if enrolment.status != Enrolment.Status.WAITLISTED:
        return None
    return Enrolment.objects.filter(series_id=enrolment.series_id,
                                    status=Enrolment.Status.WAITLISTED,
                                    waitlist_seq__lte=enrolment.waitlist_seq).count()


def _future_sessions(series):
    return list(series.sessions.filter(status=GroupSession.Status.SCHEDULED,
                                       starts_at__gt=timezone.now()))


def _referrals_to_schedule(patient, series):
    """Open referrals of this person to the series' service, when that service is
    group-based and the referral is not yet booked."""
    return list(Referral.objects.select_related("service").filter(
        patient=patient, service_id=series.service_id, service__is_group_based=True,
        status__in=[rt.NEW, rt.TRIAGED]).order_by("referred_at", "pk"))


def _link_referrals_on_place(*, enrolment: Enrolment, series: GroupSeries, actor) -> None:
    note = f"Enrolled in group series '{series.name}'."
    for referral in _referrals_to_schedule(enrolment.patient, series):
        if referral.status == rt.NEW:
            referral = referral_transition(referral=referral, to=rt.TRIAGED, actor=actor,
                                           note=note)
        referral_transition(referral=referral, to=rt.SCHEDULED, actor=actor, note=note)


def _on_place_given(*, enrolment: Enrolment, series: GroupSeries, actor) -> None:
    """Someone now holds a place: schedule their reminders, book their referral."""
    session_reminders.schedule_for(sessions=_future_sessions(series),
                                   patients=[enrolment.patient])
    _link_referrals_on_place(enrolment=enrolment, series=series, actor=actor)


def _promote_into_free_places(series: GroupSeries, actor) -> list[Enrolment]:
    """Fill free places from the head of the waitlist, in order. Caller holds the lock."""
    taken = Enrolment.objects.filter(series=series, status__in=PLACE_HOLDING).count()
    free = series.capacity - taken
    if free <= 0:
        return []
    promoted = list(Enrolment.objects.select_for_update().select_related("patient").filter(
        series=series, status=Enrolment.Status.WAITLISTED).order_by("waitlist_seq")[:free])
    for enrolment in promoted:
        enrolment.status = Enrolment.Status.ENROLLED
        enrolment.waitlist_seq = None
        enrolment.save(update_fields=["status", "waitlist_seq"])
        audit_record(actor=actor, action="promote", obj=enrolment,
                     detail={"series": series.pk})
        _on_place_given(enrolment=enrolment, series=series, actor=actor)
    return promoted


@transaction.atomic
def enrolment_create(*, series: GroupSeries, patient, actor) -> Enrolment:
    """Enrol a person, or waitlist them when the series is full. Refuses a second
    enrolment of the same person (409). A withdrawn person enrolling again reuses their
    row and joins at the back of the waitlist if the series is full."""
    series = GroupSeries.objects.select_for_update().get(pk=series.pk)  # serialise seat counting
    if series.completed_at is not None:
        raise Conflict("This series has ended; nobody can enrol any more.")
    existing = Enrolment.objects.filter(series=series, patient=patient).first()
    if existing is not None and existing.status != Enrolment.Status.WITHDRAWN:
        raise Conflict(f"This person is already {existing.get_status_display().lower()} "
                       "in this series.", {"patient": [f"Already {existing.status}."]})
    _promote_into_free_places(series, actor)  # nobody may jump an existing waitlist
    taken = Enrolment.objects.filter(series=series, status__in=PLACE_HOLDING).count()
    if taken < series.capacity:
        status, seq = Enrolment.Status.ENROLLED, None
    else:
        last = Enrolment.objects.filter(series=series).aggregate(m=Max("waitlist_seq"))["m"]
        status, seq = Enrolment.Status.WAITLISTED, (last or 0) + 1
    now = timezone.now()
    if existing is not None:
        enrolment = existing
        enrolment.status, enrolment.waitlist_seq = status, seq
        enrolment.enrolled_at, enrolment.withdrawn_at = now, None
        enrolment.save(update_fields=["status", "waitlist_seq", "enrolled_at", "withdrawn_at"])
    else:
        enrolment = Enrolment.objects.create(series=series, patient=patient, status=status,
                                             waitlist_seq=seq, enrolled_at=now)
    enrolment.patient = patient
    audit_record(actor=actor, action="enrol", obj=enrolment,
                 detail={"series": series.pk, "status": status})
    if status == Enrolment.Status.ENROLLED:
        _on_place_given(enrolment=enrolment, series=series, actor=actor)
    return enrolment


@transaction.atomic
def enrolment_withdraw(*, series: GroupSeries, patient, actor,
                       ) -> tuple[Enrolment, Enrolment | None]:
    """Withdraw an enrolled or waitlisted person. Their pending session reminders are
    cancelled; a place freed goes to the first waitlisted person, whose reminders are
    scheduled. Returns (withdrawn enrolment, promoted enrolment or None)."""
    series = GroupSeries.objects.select_for_update().get(pk=series.pk)
    if series.completed_at is not None:
        raise Conflict("This series has ended; its roster is final.")
    enrolment = Enrolment.objects.select_for_update().filter(series=series, patient=patient).first()
    if enrolment is None:
        raise NotFound("This person is not enrolled in this series.",
                       {"patient": ["Not enrolled in this series."]})
    if enrolment.status not in (Enrolment.Status.ENROLLED, Enrolment.Status.WAITLISTED):
        raise Conflict(f"This person is {enrolment.get_status_display().lower()}, not enrolled "
                       "or waitlisted.", {"patient": [f"Already {enrolment.status}."]})
    enrolment.status = Enrolment.Status.WITHDRAWN
    enrolment.waitlist_seq = None
    enrolment.withdrawn_at = timezone.now()
    enrolment.save(update_fields=["status", "waitlist_seq", "withdrawn_at"])
    session_reminders.cancel_for_patient(sessions=list(series.sessions.all()), patient=patient)
    audit_record(actor=actor, action="withdraw", obj=enrolment, detail={"series": series.pk})
    promoted = _promote_into_free_places(series, actor)
    return enrolment, (promoted[0] if promoted else None)


@transaction.atomic
def series_update_capacity(*, series: GroupSeries, capacity: int, actor) -> GroupSeries:
    """Change capacity. Raising it promotes waitlisted people into the new places; it
    cannot go below the number of people already holding a place."""
    series = GroupSeries.objects.select_for_update().get(pk=series.pk)
    if series.completed_at is not None:
        raise Conflict("This series has ended; its capacity can no longer change.")
    taken = Enrolment.objects.filter(series=series, status__in=PLACE_HOLDING).count()
    if capacity < max(1, taken):
        raise InvalidInput(f"Capacity cannot go below the {taken} people already enrolled.",
                           {"capacity": [f"At least {max(1, taken)}."]})
    previous = series.capacity
    series.capacity = capacity
    series.save(update_fields=["capacity"])
    audit_record(actor=actor, action="update", obj=series,
                 detail={"capacity": [previous, capacity]})
    _promote_into_free_places(series, actor)
    return series


# --- Attendance and completion ------------------------------------------------------------

def _held_sessions(series_id, now) -> list[int]:
    return list(GroupSession.objects.filter(
        series_id=series_id, status=GroupSession.Status.SCHEDULED, starts_at__lt=now,
    ).values_list("pk", flat=True))


def _apply_completion(enrolment: Enrolment, held: list[int], actor) -> None:
    attended = Attendance.objects.filter(session_id__in=held, patient_id=enrolment.patient_id,
                                         status=Attendance.Status.PRESENT).count()
    target = (Enrolment.Status.COMPLETED if has_completed(attended=attended, held=len(held))
              else Enrolment.Status.ENROLLED)
    if enrolment.status != target:
        enrolment.status = target
        enrolment.save(update_fields=["status"])
        audit_record(actor=actor, action="completion", obj=enrolment,
                     detail={"attended": attended, "held": len(held), "status": target})


@transaction.atomic
def attendance_mark(*, session: GroupSession, patient, status: str, actor) -> Attendance:
    """Mark one person's attendance at one session. Only people holding a place can be
    marked; a cancelled session cannot. The first `present` moves the person's scheduled
    referral to the series' service on to `in_treatment`."""
    if status not in MARKABLE:
        raise InvalidInput(f"Unknown attendance status '{status}'. Use one of "
                           f"{', '.join(MARKABLE)}.", {"status": ["Not a valid choice."]})
    # The session lock keeps a concurrent cancellation from slipping past marked attendance.
    session = GroupSession.objects.select_for_update().get(pk=session.pk)
    if session.status == GroupSession.Status.CANCELLED:
        raise Conflict("This session is cancelled; attendance cannot be marked.",
                       {"session": ["Cancelled."]})
    enrolment = Enrolment.objects.select_for_update().filter(
        series_id=session.series_id, patient=patient).first()
    if enrolment is None or enrolment.status not in PLACE_HOLDING:
        raise InvalidInput("This person is not enrolled in this series.",
                           {"patient": ["Not enrolled in this series."]})
    now = timezone.now()
    attendance, created = Attendance.objects.get_or_create(
        session=session, patient=patient,
        defaults={"status": status, "marked_by": _actor(actor), "marked_at": now})
    previous = "" if created else attendance.status
    if not created:
        attendance.status, attendance.marked_by, attendance.marked_at = status, _actor(actor), now
        attendance.save(update_fields=["status", "marked_by", "marked_at"])
    audit_record(actor=actor, action="attendance", obj=attendance,
                 detail={"session": session.pk, "from": previous, "to": status})
    # Read after the enrolment lock: a completion run holding it has committed by now.
    series = GroupSeries.objects.only("service_id", "completed_at").get(pk=session.series_id)
    if status == Attendance.Status.PRESENT:
        for referral in Referral.objects.filter(patient=patient, service_id=series.service_id,
                                                status=rt.SCHEDULED):
            referral_transition(referral=referral, to=rt.IN_TREATMENT, actor=actor,
                                note=f"Attended group session on {session.starts_at:%Y-%m-%d}.")
    if series.completed_at is not None:
        # Attendance corrected after the series ended: the completion follows the record.
        _apply_completion(enrolment, _held_sessions(series.pk, series.completed_at), actor)
    attendance.patient = patient
    return attendance


def series_has_ended(series: GroupSeries, now=None) -> bool:
    """Ended: it has sessions that were not cancelled and the last of them is over."""
    now = now or timezone.now()
    last = (series.sessions.filter(status=GroupSession.Status.SCHEDULED)
            .order_by("-starts_at").first())
    if last is None:
        return False
    return last.ends_at <= now


@transaction.atomic
def series_complete(*, series: GroupSeries | int, actor=None, now=None) -> int | None:
    """Set completion for an ended series: enrolled people who attended >= 75 % of the
    held sessions become `completed`; the others stay enrolled. Idempotent: a series whose
    completion is set already, or which has not ended, is left alone (returns None).
    Returns how many people completed."""
    now = now or timezone.now()
    pk = series.pk if isinstance(series, GroupSeries) else series
    series = GroupSeries.objects.select_for_update(skip_locked=True).filter(
        pk=pk, completed_at__isnull=True).first()
    if series is None or not series_has_ended(series, now):
        return None
    held = _held_sessions(series.pk, now)
    # Lock the enrolled rows before counting, so attendance being marked right now is either
    # counted here or sees `completed_at` and re-applies the rule itself.
    enrolled = list(Enrolment.objects.select_for_update().filter(
        series=series, status=Enrolment.Status.ENROLLED))
    attended = dict(Attendance.objects.filter(
        session_id__in=held, status=Attendance.Status.PRESENT,
    ).values_list("patient_id").annotate(n=Count("pk")).values_list("patient_id", "n"))
    completers = [
        e.pk for e in enrolled
        if has_completed(attended=attended.get(e.patient_id, 0), held=len(held))]
    if completers:
        Enrolment.objects.filter(pk__in=completers).update(status=Enrolment.Status.COMPLETED)
    series.completed_at = now
    series.save(update_fields=["completed_at"])
    audit_record(actor=actor, action="complete", obj=series,
                 detail={"held": len(held), "completed": completers})
    return len(completers)


def ended_series_due(*, now=None, limit: int = 200) -> list[int]:
    """Ids of series whose completion is due: not yet set, last non-cancelled session
    started in the past (the precise end is checked by `series_complete`)."""
    now = now or timezone.now()
    return list(GroupSeries.objects.filter(completed_at__isnull=True)
                .annotate(last_start=Max("sessions__starts_at",
                                         filter=Q(sessions__status=GroupSession.Status.SCHEDULED)))
                .filter(last_start__lt=now).order_by("last_start")
                .values_list("pk", flat=True)[:limit])
