"""Every write to appointments, availability, visit notes and attendance reviews. Pages, the
API, demo data and tasks call these; each is atomic and audited.

A booking moves its referral on through `referrals.services.referral_transition` (first
booking of a triaged referral → scheduled, first attended → in_treatment), schedules the
48 h and 2 h reminders through the outbox, and is refused (409) when it would overlap
another appointment holding the clinician's time; the database's exclusion constraint
settles races between two bookings made at the same moment.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from ipm import roles
from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput, NotFound
from patients.services import site_for_new_record
from referrals import transitions as rt
from referrals.models import Referral
from referrals.services import referral_transition
from reminders.models import Reminder
from reminders.services import reminder_schedule, reminders_cancel

from . import availability, rules
from .models import (
    Appointment,
    AttendanceReview,
    AvailabilityException,
    CalendarFeed,
    VisitNote,
    VisitNoteAddendum,
    WeeklyAvailability,
)

User = get_user_model()

REMINDER_KIND = Reminder.Kind.APPOINTMENT
REMINDER_TARGET = "appointment"


def _user_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def _when(value: datetime) -> str:
    return f"{timezone.localtime(value):%a %d %b %Y %H:%M}"


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {field: [message]})


# --- Booking --------------------------------------------------------------------------------

def _check_clinician(clinician, site) -> None:
    if clinician is None or not clinician.is_active \
            or not roles.has_role(clinician, roles.CLINICIAN):
        raise _invalid("clinician", "Appointments are booked with an active clinician.")
    if not clinician.is_superuser and not site.staff.filter(pk=clinician.pk).exists():
        raise _invalid("clinician", f"This clinician does not work at {site.name}.")


def _check_referral(referral: Referral, *, patient, service) -> None:
    if referral.patient_id != patient.pk:
        raise _invalid("referral", "This referral is for another patient.")
    if referral.service_id != service.pk:
        raise _invalid("referral", "This referral is for another service.")
    if referral.status in rt.FINAL_STATES:
        raise Conflict(f"The referral is {referral.status}: it takes no more appointments.",
                       {"referral": [f"Referral is {referral.status}."]})


def _move_referral_on_booking(referral: Referral, appointment: Appointment, actor) -> None:
    """First booking of a waiting referral → scheduled (a new one is triaged on the way,
    as enrolling in a group does)."""
    note = f"Appointment booked for {_when(appointment.starts_at)}."
    if referral.status == rt.NEW:
        referral = referral_transition(referral=referral, to=rt.TRIAGED, actor=actor,
                                       note="Triaged by booking an appointment.")
    if referral.status == rt.TRIAGED:
        referral_transition(referral=referral, to=rt.SCHEDULED, actor=actor, note=note)


def _schedule_reminders(appointment: Appointment, now) -> int:
    patient = appointment.patient
    channel = patient.preferred_channel
    if not channel or channel == "none":
        return 0
    count = 0
    for offset, before in rules.REMINDER_OFFSETS:
        when = appointment.starts_at - before
        if when <= now:
            continue  # too late for this one
        reminder_schedule(kind=REMINDER_KIND, target_type=REMINDER_TARGET,
                          target_id=appointment.pk, patient=patient, channel=channel,
                          offset=offset, scheduled_for=when)
        count += 1
    return count


def _cancel_reminders(appointment: Appointment) -> int:
    return reminders_cancel(target_type=REMINDER_TARGET, target_id=appointment.pk,
                            kind=REMINDER_KIND)


@transaction.atomic
def appointment_book(*, patient, clinician, service, starts_at: datetime,
                     duration_minutes: int, actor, mode: str = Appointment.Mode.IN_PERSON,
                     site=None, referral: Referral | None = None, override: bool = False,
                     reason: str = "", now: datetime | None = None) -> Appointment:
    """Book a one-to-one appointment (docs/product.md §8).

    400: a start not in the future, a length out of range, an unknown mode, a clinician who
    is not an active clinician at the site, a referral of another patient or service, a
    time outside the clinician's availability without `override` (or with it but without a
    `reason`). 409: the clinician already has an appointment overlapping this one, or the
    referral is closed.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if starts_at is None or timezone.is_naive(starts_at):
        raise _invalid("starts_at", "Give the start as a date and time with its time zone.")
    if starts_at <= now:
        raise _invalid("starts_at", "New appointments must start in the future.")
    try:
        duration_minutes = int(duration_minutes)
    except (TypeError, ValueError):
        raise _invalid("duration_minutes", "The length must be a whole number of minutes.")
    if not rules.MIN_DURATION <= duration_minutes <= rules.MAX_DURATION:
        raise _invalid("duration_minutes", f"The length must be {rules.MIN_DURATION} to "
                                           f"{rules.MAX_DURATION} minutes.")
    if mode not in Appointment.Mode.values:
        raise _invalid("mode", "Use 'in_person', 'phone' or 'video'.")
    if not service.active:
        raise _invalid("service", f"The service '{service.code}' is not active.")
    if site is None:
        site = site_for_new_record(program=patient.program, actor=actor)
    if site.program_id != patient.program_id:
        raise _invalid("site", "This site belongs to another program.")
    _check_clinician(clinician, site)
    if referral is not None:
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        _check_referral(referral, patient=patient, service=service)
    ends_at = starts_at + timedelta(minutes=duration_minutes)

    inside = availability.within_availability(program=patient.program, clinician=clinician,
                                              site=site, service=service,
                                              starts_at=starts_at, ends_at=ends_at)
    if not inside:
        if not override:
            raise _invalid("override", "This time is outside the clinician's availability "
                                       "(hours, leave or a public holiday). Choose a free "
                                       "slot, or book it anyway with override and a reason.")
        if not reason:
            raise _invalid("reason", "Say why this appointment is booked outside the "
                                     "clinician's availability.")
    # A friendly refusal for the common case; the exclusion constraint below is what
    # decides when two bookings race (PostgreSQL). On SQLite the transaction is IMMEDIATE,
    # so this check and the insert run under the database's write lock.
    clash = Appointment.objects.filter(clinician=clinician, status__in=rules.HOLDS_TIME,
                                       starts_at__lt=ends_at, ends_at__gt=starts_at).first()
    if clash is not None:
        raise _double_booked(clash)
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                patient=patient, clinician=clinician, service=service, site=site,
                referral=referral, starts_at=starts_at, ends_at=ends_at,
                duration_minutes=duration_minutes, mode=mode,
                override_reason=reason if not inside else "", booked_by=_user_or_none(actor))
    except IntegrityError:
        raise _double_booked(None)
    except OperationalError as exc:
        # Two bookings of one time that race can each wait for the other while PostgreSQL
        # checks the exclusion constraint; it then rolls one back as a deadlock victim
        # (SQLSTATE 40P01). That booking lost the slot: the same 409 as a clash.
        if getattr(exc.__cause__, "sqlstate", None) != "40P01":
            raise
        raise _double_booked(None)
    if referral is not None:
        _move_referral_on_booking(referral, appointment, actor)
    reminders = _schedule_reminders(appointment, now)
    audit_record(actor=actor, action="appointment.booked", obj=appointment,
                 detail={"clinician": clinician.pk, "starts_at": starts_at.isoformat(),
                         "duration_minutes": duration_minutes, "referral": getattr(
                             referral, "pk", None), "override": not inside,
                         "reminders": reminders})
    return appointment


def _double_booked(clash: Appointment | None) -> Conflict:
    when = f" ({_when(clash.starts_at)}, {clash.duration_minutes} min)" if clash else ""
    message = f"The clinician already has an appointment at this time{when}."
    return Conflict(message, {"starts_at": [message]})


# --- Status ---------------------------------------------------------------------------------

@transaction.atomic
def appointment_status_set(*, appointment: Appointment | int, status: str, actor,
                           reason: str = "", now: datetime | None = None) -> Appointment:
    """Record attendance or a cancellation. Attended/did-not-attend from 15 minutes before
    the start; cancellations need a reason; anything but a booked appointment is the record
    and changes no more (409). Cancelled or marked, its pending reminders are cancelled.
    The first attended appointment of a scheduled referral starts treatment; a second
    did-not-attend in one referral opens an attendance review on the worklist."""
    now = now or timezone.now()
    pk = appointment.pk if isinstance(appointment, Appointment) else appointment
    try:
        locked = Appointment.objects.select_for_update().get(pk=pk)
    except Appointment.DoesNotExist:
        raise NotFound("No such appointment.", {"appointment": [f"No appointment {pk}."]})
    reason = (reason or "").strip()
    try:
        rules.check_status_change(current=locked.status, to=status, starts_at=locked.starts_at,
                                  now=now, reason=reason)
    except rules.StatusRefused as exc:
        if exc.code in (rules.NOT_ALLOWED, rules.TOO_EARLY):
            raise Conflict(exc.message, {exc.field: [exc.message]})
        raise InvalidInput(exc.message, {exc.field: [exc.message]})
    previous = locked.status
    locked.status = status
    locked.status_reason = reason
    locked.status_changed_by = _user_or_none(actor)
    locked.status_changed_at = now
    locked.save(update_fields=["status", "status_reason", "status_changed_by",
                               "status_changed_at", "updated_at"])
    cancelled = _cancel_reminders(locked)
    detail = {"from": previous, "to": status, "reminders_cancelled": cancelled}
    if locked.referral_id:
        if status == rules.ATTENDED:
            _start_treatment(locked, actor)
        elif status == rules.DID_NOT_ATTEND:
            review = _review_if_missed_twice(locked)
            if review is not None:
                detail["attendance_review"] = review.pk
    audit_record(actor=actor, action=f"appointment.{status}", obj=locked, detail=detail)
    return locked


def _start_treatment(appointment: Appointment, actor) -> None:
    referral = Referral.objects.select_for_update().get(pk=appointment.referral_id)
    if referral.status == rt.TRIAGED:  # booked before triage finished elsewhere
        referral = referral_transition(referral=referral, to=rt.SCHEDULED, actor=actor,
                                       note="Scheduled by an attended appointment.")
    if referral.status == rt.SCHEDULED:
        referral_transition(referral=referral, to=rt.IN_TREATMENT, actor=actor,
                            at=appointment.starts_at,
                            note=f"First visit attended {_when(appointment.starts_at)}.")


def _review_if_missed_twice(appointment: Appointment) -> AttendanceReview | None:
    missed = Appointment.objects.filter(referral_id=appointment.referral_id,
                                        status=rules.DID_NOT_ATTEND).count()
    if missed < rules.DNA_REVIEW_THRESHOLD:
        return None
    if AttendanceReview.objects.filter(referral_id=appointment.referral_id,
                                       reviewed_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            review = AttendanceReview.objects.create(
                referral_id=appointment.referral_id, patient_id=appointment.patient_id,
                missed=missed)
    except IntegrityError:  # opened by a concurrent mark: one open review is enough
        return None
    audit_record(action="appointment.attendance_review_opened", obj=review,
                 detail={"referral": appointment.referral_id, "missed": missed})
    return review


@transaction.atomic
def attendance_review_close(*, review: AttendanceReview | int, actor, note: str = ""
                            ) -> AttendanceReview:
    pk = review.pk if isinstance(review, AttendanceReview) else review
    locked = AttendanceReview.objects.select_for_update().get(pk=pk)
    if locked.reviewed_at is not None:
        raise Conflict("This review is already recorded.", {"review": ["Already reviewed."]})
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = _user_or_none(actor)
    locked.note = (note or "").strip()
    locked.save(update_fields=["reviewed_at", "reviewed_by", "note"])
    audit_record(actor=actor, action="appointment.attendance_reviewed", obj=locked,
                 detail={"referral": locked.referral_id})
    return locked


# --- Availability ---------------------------------------------------------------------------

def _parse_time(value, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise _invalid(field, "Give a time as HH:MM.")


@transaction.atomic
def weekly_availability_set(*, clinician, site, windows, actor) -> list[WeeklyAvailability]:
    """Replace a clinician's weekly hours at one site. `windows` are
    (weekday 0-6, start "HH:MM", end "HH:MM", service or None); windows of one day may not
    overlap."""
    if not roles.has_role(clinician, roles.CLINICIAN):
        raise _invalid("clinician", "Availability is kept for clinicians.")
    rows = []
    for weekday, start, end, service in windows:
        try:
            weekday = int(weekday)
        except (TypeError, ValueError):
            raise _invalid("weekday", "Use 0 (Monday) to 6 (Sunday).")
        if not 0 <= weekday <= 6:
            raise _invalid("weekday", "Use 0 (Monday) to 6 (Sunday).")
        start, end = _parse_time(start, "start_time"), _parse_time(end, "end_time")
        if end <= start:
            raise _invalid("end_time", "The end must be after the start.")
        rows.append(WeeklyAvailability(clinician=clinician, site=site, weekday=weekday,
                                       start_time=start, end_time=end, service=service))
    by_day: dict[int, list] = {}
    for row in rows:
        for other in by_day.get(row.weekday, []):
            if row.start_time < other.end_time and other.start_time < row.end_time:
                raise _invalid("start_time", f"Two windows overlap on "
                                             f"{rules.WEEKDAY_CHOICES[row.weekday][1]}.")
        by_day.setdefault(row.weekday, []).append(row)
    before = list(WeeklyAvailability.objects.filter(clinician=clinician, site=site)
                  .values_list("weekday", "start_time", "end_time", "service_id"))
    WeeklyAvailability.objects.filter(clinician=clinician, site=site).delete()
    WeeklyAvailability.objects.bulk_create(rows)
    audit_record(actor=actor, action="availability.set", object_type="auth.user",
                 object_id=clinician.pk,
                 detail={"site": site.pk, "before": [[d, str(s), str(e), v] for d, s, e, v
                                                     in before],
                         "after": [[r.weekday, str(r.start_time), str(r.end_time),
                                    r.service_id] for r in rows]})
    return rows


@transaction.atomic
def availability_exception_add(*, clinician, starts_at, ends_at, actor, site=None,
                               reason: str = "Leave") -> AvailabilityException:
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise _invalid("ends_at", "The end of the leave must be after its start.")
    row = AvailabilityException.objects.create(
        clinician=clinician, site=site, starts_at=starts_at, ends_at=ends_at,
        reason=(reason or "Leave").strip()[:200], created_by=_user_or_none(actor))
    audit_record(actor=actor, action="availability.exception_added", obj=row,
                 detail={"clinician": clinician.pk})
    return row


@transaction.atomic
def availability_exception_remove(*, exception: AvailabilityException, actor) -> None:
    audit_record(actor=actor, action="availability.exception_removed", obj=exception,
                 detail={"clinician": exception.clinician_id})
    exception.delete()


# --- Visit notes ----------------------------------------------------------------------------

NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")


def _check_author(note: VisitNote, actor) -> None:
    if note.author_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the note's author can change it.")


@transaction.atomic
def visit_note_save(*, appointment: Appointment | int, actor, minutes=None, **fields
                    ) -> VisitNote:
    """Create or update the note of an attended appointment. Its author edits it until it
    is signed (409 after); nobody else may (403)."""
    pk = appointment.pk if isinstance(appointment, Appointment) else appointment
    appt = Appointment.objects.select_for_update().get(pk=pk)
    if appt.status != rules.ATTENDED:
        raise Conflict("Notes are written on attended appointments.",
                       {"appointment": [f"The appointment is {appt.status}."]})
    if not roles.has_role(actor, roles.CLINICIAN):
        raise PermissionDenied("Visit notes are written by clinicians.")
    unknown = set(fields) - set(NOTE_FIELDS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "Not a visit-note field.")
    if minutes is not None:
        try:
            minutes = int(minutes)
        except (TypeError, ValueError):
            raise _invalid("minutes", "Minutes must be a whole number from 0 to 600.")
        if not 0 <= minutes <= 600:
            raise _invalid("minutes", "Minutes must be a whole number from 0 to 600.")
    note = VisitNote.objects.select_for_update().filter(appointment=appt).first()
    created = note is None
    if created:
        note = VisitNote(appointment=appt, author=actor)
    else:
        _check_author(note, actor)
        if note.is_signed:
            raise Conflict("This note is signed: add an addendum instead.",
                           {"note": ["Signed notes take addenda only."]})
    changed = []
    for name in NOTE_FIELDS:
        if name in fields and fields[name] is not None:
            value = str(fields[name]).strip()
            if getattr(note, name) != value:
                setattr(note, name, value)
                changed.append(name)
    if minutes is not None and note.minutes != minutes:
        note.minutes = minutes
        changed.append("minutes")
    if created:
        note.save()
    elif changed:
        note.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, action="visit_note.created" if created else "visit_note.updated",
                 obj=note, patient_id=appt.patient_id,
                 detail={"appointment": appt.pk, "fields": changed})
    return note


@transaction.atomic
def visit_note_sign(*, note: VisitNote | int, actor) -> VisitNote:
    pk = note.pk if isinstance(note, VisitNote) else note
    locked = VisitNote.objects.select_for_update().select_related("appointment").get(pk=pk)
    _check_author(locked, actor)
    if locked.is_signed:
        raise Conflict("This note is already signed.", {"note": ["Already signed."]})
    if not any(getattr(locked, f) for f in NOTE_FIELDS):
        raise _invalid("note", "An empty note cannot be signed.")
    locked.signed_at = timezone.now()
    locked.save(update_fields=["signed_at", "updated_at"])
    audit_record(actor=actor, action="visit_note.signed", obj=locked,
                 patient_id=locked.appointment.patient_id,
                 detail={"appointment": locked.appointment_id, "minutes": locked.minutes})
    return locked


@transaction.atomic
def visit_note_addendum_add(*, note: VisitNote | int, text: str, actor) -> VisitNoteAddendum:
    """After signing, a clinician (the author or a colleague) adds to the record."""
    pk = note.pk if isinstance(note, VisitNote) else note
    locked = VisitNote.objects.select_for_update().select_related("appointment").get(pk=pk)
    if not roles.has_role(actor, roles.CLINICIAN):
        raise PermissionDenied("Addenda are written by clinicians.")
    if not locked.is_signed:
        raise Conflict("The note is not signed yet: edit it instead.",
                       {"note": ["Not signed."]})
    text = (text or "").strip()
    if not text:
        raise _invalid("text", "Write the addendum.")
    addendum = VisitNoteAddendum.objects.create(note=locked, author=actor, text=text)
    audit_record(actor=actor, action="visit_note.addendum", obj=locked,
                 patient_id=locked.appointment.patient_id, detail={"addendum": addendum.pk})
    return addendum


# --- Calendar feed --------------------------------------------------------------------------

def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_regenerate(*, clinician, actor) -> str:
    """A new private feed token for the clinician (the old one stops working). Returns the
    token; only its hash is stored, so it is shown once."""
    if not roles.has_role(clinician, roles.CLINICIAN):
        raise _invalid("clinician", "Calendar feeds are for clinicians.")
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(clinician=clinician,
                                          defaults={"token_hash": feed_token_hash(token),
                                                    "created_at": timezone.now()})
    audit_record(actor=actor, action="calendar_feed.regenerated", object_type="auth.user",
                 object_id=clinician.pk)
    return token
