"""FHIR R4 read for individual appointments (SPEC §8, §10): Appointment (one-to-one visits,
next to the group sessions ipm.fhir already serves), Schedule (a clinician's weekly hours),
Slot (free slots computed from them) and Encounter (attended visits). Resources are
validated with fhir.resources like the existing ones.

Ids: a one-to-one Appointment is `individual-<pk>` (group sessions keep their numeric ids);
an Encounter is the appointment's pk; a Schedule is the clinician's user id; a Slot is
`<clinician>-<site>-<start epoch>-<minutes>` (computed, stable while it stays free).

Registered into ipm.fhir's RESOURCE_VIEWS from AppointmentsConfig.ready() (`register`):
the Appointment views are replaced by subclasses that also serve one-to-one visits. Every
read is limited to the requesting person's sites and audited like the rest of the FHIR API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from fhir_api import codes, search
from fhir_api import views as fhir_views
from fhir_api.resources import _clean, _patient_ref, instant
from patients.models import Program

from . import availability, rules, selectors
from .models import Appointment, WeeklyAvailability

User = get_user_model()
PREFIX = "individual-"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SLOT_ID = re.compile(r"(\d{1,18})-(\d{1,18})-(\d{1,12})-(\d{1,3})")
SLOT_DAYS = 14

APPOINTMENT_STATUS = {
    rules.BOOKED: "booked", rules.ATTENDED: "fulfilled", rules.DID_NOT_ATTEND: "noshow",
    rules.CANCELLED_BY_PATIENT: "cancelled", rules.CANCELLED_BY_CLINIC: "cancelled",
}


def _name(user) -> str:
    return user.get_full_name() or user.username


def _service_type(service) -> list[dict]:
    return [{"coding": [{"system": codes.SERVICE_SYSTEM, "code": service.code,
                         "display": service.name}], "text": service.name}]


def appointment_resource(appt: Appointment) -> FhirAppointment:
    """A one-to-one visit: the patient and the clinician (primary performer)."""
    status = APPOINTMENT_STATUS[appt.status]
    return FhirAppointment.model_validate(_clean({
        "resourceType": "Appointment",
        "id": f"{PREFIX}{appt.pk}",
        "status": status,
        "cancelationReason": {"text": appt.status_reason} if status == "cancelled" else None,
        "serviceType": _service_type(appt.service),
        "appointmentType": {"text": appt.get_mode_display()},
        "start": instant(appt.starts_at),
        "end": instant(appt.ends_at),
        "minutesDuration": appt.duration_minutes,
        "created": instant(appt.created_at),
        "basedOn": [{"reference": f"ServiceRequest/{appt.referral_id}"}]
        if appt.referral_id else None,
        "participant": [
            {"actor": _patient_ref(appt.patient_id, appt.patient.full_name),
             "required": "required", "status": "accepted"},
            {"type": [{"coding": [{"system": codes.PARTICIPATION_TYPE, "code": "PPRF",
                                   "display": "primary performer"}]}],
             "actor": {"display": _name(appt.clinician)}, "required": "required",
             "status": "accepted"},
        ],
    }))


def encounter_resource(appt: Appointment) -> Encounter:
    """An attended visit."""
    virtual = appt.mode in ("phone", "video")
    return Encounter.model_validate(_clean({
        "resourceType": "Encounter",
        "id": str(appt.pk),
        "status": "finished",
        "class": {"system": ENCOUNTER_CLASS, "code": "VR" if virtual else "AMB",
                  "display": "virtual" if virtual else "ambulatory"},
        "serviceType": _service_type(appt.service)[0],
        "subject": _patient_ref(appt.patient_id, appt.patient.full_name),
        "participant": [{"type": [{"coding": [{"system": codes.PARTICIPATION_TYPE,
                                                "code": "PPRF"}]}],
                         "individual": {"display": _name(appt.clinician)}}],
        "appointment": [{"reference": f"Appointment/{PREFIX}{appt.pk}"}],
        "period": {"start": instant(appt.starts_at), "end": instant(appt.ends_at)},
        "length": {"value": appt.duration_minutes, "unit": "min",
                   "system": codes.UCUM, "code": "min"},
        "basedOn": [{"reference": f"ServiceRequest/{appt.referral_id}"}]
        if appt.referral_id else None,
    }))


def schedule_resource(clinician, windows: list[WeeklyAvailability], now=None) -> Schedule:
    now = now or timezone.now()
    services = {w.service.code: w.service for w in windows if w.service_id}
    hours = "; ".join(f"{w.get_weekday_display()} {w.start_time:%H:%M}-{w.end_time:%H:%M} at "
                      f"{w.site.name}" + (f" ({w.service.name})" if w.service_id else "")
                      for w in windows)
    return Schedule.model_validate(_clean({
        "resourceType": "Schedule",
        "id": str(clinician.pk),
        "active": clinician.is_active and bool(windows),
        "serviceType": [t for s in services.values() for t in _service_type(s)] or None,
        "actor": [{"display": _name(clinician)}],
        "planningHorizon": {"start": instant(now), "end": instant(now + timedelta(days=SLOT_DAYS))},
        "comment": f"Weekly hours: {hours}" if hours else "No weekly hours.",
    }))


def slot_id(slot: availability.Slot) -> str:
    return f"{slot.clinician.pk}-{slot.site_id}-{int(slot.start.timestamp())}-{slot.minutes}"


def slot_resource(slot: availability.Slot) -> FhirSlot:
    return FhirSlot.model_validate(_clean({
        "resourceType": "Slot",
        "id": slot_id(slot),
        "schedule": {"reference": f"Schedule/{slot.clinician.pk}",
                     "display": _name(slot.clinician)},
        "status": "free",
        "start": instant(slot.start),
        "end": instant(slot.end),
    }))


# --- Views ---------------------------------------------------------------------------------

def _individual(request, patient_ids=None, date=None):
    qs = selectors.appointments_visible_to(request.user).select_related("clinician")
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    if date is not None:
        qs = qs.filter(date)
    return qs


class AppointmentSearchView(fhir_views.AppointmentSearchView):
    """Group sessions first, then one-to-one appointments, paged as one list."""

    audit_object_type = "appointments.appointment"
    params = (
        ("patient", "reference", "The patient's group sessions and individual appointments"),
        ("date", "date", "Start (eq, ne, gt, lt, ge, le)"),
    )

    def search(self, query, paging):
        patient_ids = self.patient_ids(query)
        date = self.date_q(query, "date", "starts_at")
        group_total, shown, ids = super().search(query, paging)
        individual = _individual(self.request, patient_ids, date)
        total = group_total + individual.count()
        room = paging.count - len(shown)
        if room > 0:
            start = max(0, paging.offset - group_total)
            for appt in individual[start:start + room]:
                shown.append(appointment_resource(appt))
                ids.append(appt.patient_id)
        return total, shown, ids


class AppointmentReadView(fhir_views.AppointmentReadView):
    def read(self, ident):
        if not ident.startswith(PREFIX):
            return super().read(ident)
        appt = _individual(self.request).filter(pk=self.pk(ident[len(PREFIX):])).first()
        if appt is None:
            raise Http404
        resource = appointment_resource(appt)
        self.audit_read(appt, resource)
        return resource


class EncounterSearchView(fhir_views.SearchView):
    resource_type = "Encounter"
    audit_object_type = "appointments.appointment"
    params = (("patient", "reference", "Patient/<id> or <id>"),
              ("date", "date", "Visit start (eq, ne, gt, lt, ge, le)"))

    def search(self, query, paging):
        qs = _individual(self.request, self.patient_ids(query),
                         self.date_q(query, "date", "starts_at")).filter(status=rules.ATTENDED)
        total, rows = self.page_of(qs, paging)
        return total, [encounter_resource(a) for a in rows], [a.patient_id for a in rows]


class EncounterReadView(fhir_views.ReadView):
    def read(self, ident):
        appt = _individual(self.request).filter(pk=self.pk(ident),
                                                status=rules.ATTENDED).first()
        if appt is None:
            raise Http404
        resource = encounter_resource(appt)
        self.audit_read(appt, resource)
        return resource


def _clinicians_with_hours():
    return availability.bookable_clinicians().filter(
        pk__in=WeeklyAvailability.objects.values("clinician_id"))


def _windows(clinician_ids) -> dict[int, list[WeeklyAvailability]]:
    out: dict[int, list] = {}
    for w in (WeeklyAvailability.objects.filter(clinician_id__in=list(clinician_ids))
              .select_related("site", "service")):
        out.setdefault(w.clinician_id, []).append(w)
    return out


class ScheduleSearchView(fhir_views.SearchView):
    """Clinicians' schedules (no patient data)."""

    resource_type = "Schedule"
    params = (("actor", "reference", "Practitioner/<user id> or <user id>"),)

    def search(self, query, paging):
        qs = _clinicians_with_hours()
        actor = search.single(query, "actor")
        if actor is not None:
            qs = qs.filter(pk__in=search.reference_ids(actor, "Practitioner", param="actor"))
        total, rows = self.page_of(qs, paging)
        windows = _windows(u.pk for u in rows)
        return total, [schedule_resource(u, windows.get(u.pk, [])) for u in rows], []


class ScheduleReadView(fhir_views.ReadView):
    def read(self, ident):
        clinician = _clinicians_with_hours().filter(pk=self.pk(ident)).first()
        if clinician is None:
            raise Http404
        return schedule_resource(clinician, _windows([clinician.pk]).get(clinician.pk, []))


class SlotSearchView(fhir_views.SearchView):
    """Free slots of a schedule, computed from weekly hours, leave, holidays and bookings."""

    resource_type = "Slot"
    params = (("schedule", "reference", "Schedule/<clinician id> (required)"),
              ("start", "date", "Slot start; ge/le bound the days searched (default: the next "
                                "14 days)"),
              ("duration", "number", "Slot length in minutes (default 45)"))

    def search(self, query, paging):
        value = search.single(query, "schedule")
        if value is None:
            raise search.SearchError("Slot searches need a 'schedule' parameter.",
                                     param="schedule")
        ids = search.reference_ids(value, "Schedule", param="schedule")
        clinician = availability.bookable_clinicians().filter(pk__in=ids).first()
        minutes = search.single(query, "duration") or "45"
        if not minutes.isdigit() or not rules.MIN_DURATION <= int(minutes) <= rules.MAX_DURATION:
            raise search.SearchError("'duration' must be 5 to 480 minutes.", param="duration")
        program = Program.default()
        tz = ZoneInfo(program.time_zone)
        now = timezone.now()
        start_day = now.astimezone(tz).date()
        end_day = start_day + timedelta(days=SLOT_DAYS - 1)
        for r in search.date_params(query, "start", tz):
            if r.prefix in ("ge", "gt", "eq"):
                start_day = max(start_day, r.lower.astimezone(tz).date())
            if r.prefix in ("le", "lt", "eq"):
                end_day = r.upper.astimezone(tz).date()
        end_day = min(end_day, start_day + timedelta(days=31))
        slots = [] if clinician is None or end_day < start_day else availability.free_slots(
            program=program, start=start_day, end=end_day, minutes=int(minutes), now=now,
            clinician=clinician)
        ranges = search.date_params(query, "start", tz)
        if ranges:  # the exact bounds too, not only the days
            slots = [s for s in slots if _matches(s.start, ranges)]
        page = slots[paging.offset: paging.offset + paging.count] if paging.count else []
        return len(slots), [slot_resource(s) for s in page], []


def _matches(when: datetime, ranges) -> bool:
    for r in ranges:
        inside = r.lower <= when < r.upper
        ok = {"eq": inside, "ne": not inside, "gt": when >= r.upper, "ge": when >= r.lower,
              "lt": when < r.lower, "le": when < r.upper}[r.prefix]
        if not ok:
            return False
    return True


class SlotReadView(fhir_views.ReadView):
    def read(self, ident):
        match = SLOT_ID.fullmatch(ident)
        if not match:
            raise Http404
        clinician_id, site_id, epoch, minutes = (int(g) for g in match.groups())
        clinician = availability.bookable_clinicians().filter(pk=clinician_id).first()
        if clinician is None:
            raise Http404
        program = Program.default()
        tz = ZoneInfo(program.time_zone)
        start = datetime.fromtimestamp(epoch, tz=UTC)
        day = start.astimezone(tz).date()
        for slot in availability.free_slots(program=program, start=day, end=day,
                                            minutes=minutes, now=timezone.now(),
                                            clinician=clinician):
            if slot.site_id == site_id and slot.start == start:
                return slot_resource(slot)
        raise Http404  # booked, past, or never free


def register() -> None:
    """Serve these through ipm.fhir's URL table (called once from AppointmentsConfig.ready)."""
    fhir_views.RESOURCE_VIEWS["Appointment"] = (AppointmentReadView, AppointmentSearchView)
    fhir_views.RESOURCE_VIEWS.setdefault("Encounter", (EncounterReadView, EncounterSearchView))
    fhir_views.RESOURCE_VIEWS.setdefault("Schedule", (ScheduleReadView, ScheduleSearchView))
    fhir_views.RESOURCE_VIEWS.setdefault("Slot", (SlotReadView, SlotSearchView))
