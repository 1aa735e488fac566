"""Reads: appointments a person may see (their sites only), the calendar grid, the patient
timeline entries (clinic's patient page) and the missed-visit reviews (care's worklist).
Each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, Min, OuterRef, QuerySet, Sum

# The site pickers' rule lives with the scoping (visits offers the same choice); the pages
# and API here keep asking for it as selectors.sites_of.
from patients.scoping import sites_of as sites_of
from patients.scoping import visible

from . import availability, rules
from .models import Appointment, AttendanceReview, VisitNote


def appointments_visible_to(user) -> QuerySet[Appointment]:
    """Appointments of the patients `user` may see (their sites' patients, docs/product.md
    §6; none for strangers), with what lists show."""
    qs = visible(Appointment.objects.select_related("patient", "clinician", "service", "site"),
                 user)
    return qs.annotate(
        has_note=Exists(VisitNote.objects.filter(appointment=OuterRef("pk"))),
        note_signed=Exists(VisitNote.objects.filter(appointment=OuterRef("pk"),
                                                    signed_at__isnull=False)),
    ).order_by("starts_at", "pk")


def appointment_detail(user, pk: int) -> Appointment:
    """One appointment with its note and addenda; DoesNotExist outside the user's sites."""
    appt = appointments_visible_to(user).select_related("referral", "booked_by").get(pk=pk)
    note = (VisitNote.objects.select_related("author").prefetch_related("addenda__author")
            .filter(appointment=appt).first())
    appt.visit_note = note
    return appt


# --- Calendar -------------------------------------------------------------------------------

@dataclass
class Column:
    """One day of the calendar: its appointments and free slots, by start time."""

    day: date
    appointments: list = field(default_factory=list)
    slots: list = field(default_factory=list)

    @property
    def entries(self) -> list:
        rows = [("appointment", a.starts_at, a) for a in self.appointments]
        rows += [("slot", s.start, s) for s in self.slots]
        return sorted(rows, key=lambda r: (r[1], r[0] == "slot"))


def calendar(*, user, program, start: date, days: int, clinician=None, service=None,
             site=None, slot_minutes: int = 45, now=None) -> list[Column]:
    """Day or week view: each day's appointments (not cancelled) for the chosen clinician,
    service or site, and the free slots of `slot_minutes` to click."""
    tz = ZoneInfo(program.time_zone)
    end = start + timedelta(days=days - 1)
    lo = datetime.combine(start, datetime.min.time(), tz)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
    qs = appointments_visible_to(user).filter(starts_at__gte=lo, starts_at__lt=hi) \
        .exclude(status__in=rules.CANCELLED)
    if clinician is not None:
        qs = qs.filter(clinician=clinician)
    if service is not None:
        qs = qs.filter(service=service)
    if site is not None:
        qs = qs.filter(site=site)
    columns = {start + timedelta(days=i): Column(start + timedelta(days=i)) for i in range(days)}
    for appt in qs:
        columns[appt.starts_at.astimezone(tz).date()].appointments.append(appt)
    if clinician is not None or service is not None:
        for slot in availability.free_slots(program=program, start=start, end=end,
                                            minutes=slot_minutes, now=now, clinician=clinician,
                                            service=service, site=site):
            day = slot.start.astimezone(tz).date()
            if day in columns:
                columns[day].slots.append(slot)
    return list(columns.values())


# --- Patient timeline and worklist -----------------------------------------------------------

def timeline_entries(patient) -> list[tuple[datetime, str, str]]:
    """(when, kind, text) rows for the patient page: each appointment and signed note."""
    out = []
    for appt in (Appointment.objects.filter(patient=patient)
                 .select_related("service", "clinician", "note")):
        who = appt.clinician.get_full_name() or appt.clinician.username
        text = f"{appt.service.name} with {who} ({appt.get_mode_display().lower()}, " \
               f"{appt.duration_minutes} min): {appt.get_status_display().lower()}"
        if appt.status_reason:
            text += f": {appt.status_reason}"
        out.append((appt.starts_at, "Appointment", text))
        note = getattr(appt, "note", None)
        if note is not None and note.signed_at:
            summary = note.assessment or note.plan or note.subjective
            out.append((note.signed_at, "Visit note",
                        f"Signed by {who}: {summary[:160]}"))
    return out


def open_attendance_reviews(*, patients=None, limit: int = 50) -> list[AttendanceReview]:
    """Referrals with two missed visits awaiting review (oldest first), of `patients` (a
    Patient queryset, e.g. those the user may see) when given. One query."""
    qs = (AttendanceReview.objects.filter(reviewed_at__isnull=True)
          .select_related("patient", "referral__service").order_by("opened_at", "pk"))
    if patients is not None:
        qs = qs.filter(patient__in=patients)
    return list(qs[:limit])


# --- Care-management minutes (care/minutes.py) -----------------------------------------------

def _signed_notes(patient_ids):
    notes = VisitNote.objects.filter(signed_at__isnull=False)
    if patient_ids is not None:
        notes = notes.filter(appointment__patient_id__in=list(patient_ids))
    return notes.order_by()


def signed_note_minutes(patient_ids, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(patient id, minutes)] of signed visit notes whose appointment starts in [start, end)
    (`patient_ids=None`: every patient). One query."""
    return list(_signed_notes(patient_ids)
                .filter(appointment__starts_at__gte=start, appointment__starts_at__lt=end)
                .values("appointment__patient_id").annotate(total=Sum("minutes"))
                .values_list("appointment__patient_id", "total"))


def first_signed_note_visits(patient_ids) -> dict[int, datetime]:
    """{patient id: start of the earliest appointment with a signed note of minutes > 0}."""
    return dict(_signed_notes(patient_ids).filter(minutes__gt=0)
                .values("appointment__patient_id")
                .annotate(first=Min("appointment__starts_at"))
                .values_list("appointment__patient_id", "first"))
