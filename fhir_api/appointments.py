"""FHIR R4 for individual appointments (docs/product.md §8): the resources and the reads
behind the Appointment (one-to-one visits, next to the group sessions), Schedule (a
clinician's weekly hours), Slot (free slots computed from them) and Encounter (attended
visits) views in fhir_api/views.py. Resources are validated with fhir.resources like the
ones in fhir_api/resources.py.

Ids: a one-to-one Appointment is `individual-<pk>` (group sessions keep their numeric ids);
an Encounter is the appointment's pk; a Schedule is the clinician's user id; a Slot is
`<clinician>-<site>-<start epoch>-<minutes>` (computed, stable while it stays free).

The Appointment views serve group sessions and one-to-one visits alike. Every read of
patient data is limited to the requesting person's sites and audited like the rest of the
FHIR API.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from appointments import availability, rules, selectors
from appointments.models import Appointment, WeeklyAvailability
from patients.models import Program

from . import codes, search
from .resources import _clean, _patient_ref, instant

User = get_user_model()
PREFIX = "individual-"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SLOT_ID = re.compile(r"(\d{1,18})-(\d{1,18})-(\d{1,12})-(\d{1,3})")
SLOT_DAYS = 14
_TYPED_REFERENCE = re.compile(r"(?:.*/)?([A-Z][A-Za-z]+)/[^/]+")

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
    return FhirAppointment.model_validate(appointment_data(appt))


def appointment_data(appt: Appointment) -> dict:
    """Plain data (resources.py); needs ``patient``, ``clinician`` and ``service``."""
    status = APPOINTMENT_STATUS[appt.status]
    return _clean({
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
    })


def encounter_resource(appt: Appointment) -> Encounter:
    """An attended visit."""
    return Encounter.model_validate(encounter_data(appt))


def encounter_data(appt: Appointment) -> dict:
    """Plain data (resources.py), elements in FHIR's order; needs ``patient``,
    ``clinician`` and ``service``."""
    virtual = appt.mode in ("phone", "video")
    return _clean({
        "resourceType": "Encounter",
        "id": str(appt.pk),
        "status": "finished",
        "class": {"system": ENCOUNTER_CLASS, "code": "VR" if virtual else "AMB",
                  "display": "virtual" if virtual else "ambulatory"},
        "serviceType": _service_type(appt.service)[0],
        "subject": _patient_ref(appt.patient_id, appt.patient.full_name),
        "basedOn": [{"reference": f"ServiceRequest/{appt.referral_id}"}]
        if appt.referral_id else None,
        "participant": [{"type": [{"coding": [{"system": codes.PARTICIPATION_TYPE,
                                                "code": "PPRF"}]}],
                         "individual": {"display": _name(appt.clinician)}}],
        "appointment": [{"reference": f"Appointment/{PREFIX}{appt.pk}"}],
        "period": {"start": instant(appt.starts_at), "end": instant(appt.ends_at)},
        "length": {"value": appt.duration_minutes, "unit": "min",
                   "system": codes.UCUM, "code": "min"},
    })


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


# --- Reads ---------------------------------------------------------------------------------

def individual(user, patient_ids=None, date_q=None):
    """One-to-one appointments of the user's sites (optionally some patients', a date filter)."""
    qs = selectors.appointments_visible_to(user).select_related("clinician")
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    if date_q is not None:
        qs = qs.filter(date_q)
    return qs


def individual_pks(wanted: list[str]) -> list[int]:
    """The appointment pks among `_id` values (`individual-<pk>`; others name group sessions)."""
    out = []
    for value in wanted:
        pk = value.removeprefix(PREFIX)
        if value.startswith(PREFIX) and pk.isdigit() and len(pk) <= 18:
            out.append(int(pk))
    return out


def of_patients(patient_ids) -> list[Appointment]:
    """Every one-to-one appointment of these patients (already scoped by the caller), for
    the compartment (`$everything`, `_revinclude`, Bulk Data)."""
    return list(Appointment.objects.filter(patient_id__in=list(patient_ids))
                .select_related("patient", "clinician", "service")
                .order_by("patient_id", "starts_at", "pk"))


def clinicians_with_hours():
    return availability.bookable_clinicians().filter(
        pk__in=WeeklyAvailability.objects.values("clinician_id"))


def windows_of(clinician_ids) -> dict[int, list[WeeklyAvailability]]:
    out: dict[int, list] = {}
    for w in (WeeklyAvailability.objects.filter(clinician_id__in=list(clinician_ids))
              .select_related("site", "service")):
        out.setdefault(w.clinician_id, []).append(w)
    return out


def reference_ids(value: str, resource_type: str, *, param: str) -> list[int]:
    """Ids a reference parameter names for `resource_type`; a reference to another type
    (e.g. a Schedule's `actor=Patient/1`) is well-formed but matches nothing here."""
    ids = []
    for part in value.split(","):
        other = _TYPED_REFERENCE.fullmatch(part.strip())
        if other and other.group(1) != resource_type:
            continue
        ids += search.reference_ids(part, resource_type, param=param)
    return ids


def free_slots(query) -> list[availability.Slot]:
    """The free slots a Slot search asks for: of the `schedule`s named (default: every
    clinician with weekly hours), `duration` minutes long (default 45), on the days `start`
    bounds (default: the next SLOT_DAYS days, at most 31)."""
    value = search.single(query, "schedule")
    clinicians = clinicians_with_hours().order_by("pk")
    if value is not None:
        clinicians = clinicians.filter(pk__in=reference_ids(value, "Schedule", param="schedule"))
    minutes = search.single(query, "duration") or "45"
    if not minutes.isdigit() or not rules.MIN_DURATION <= int(minutes) <= rules.MAX_DURATION:
        raise search.SearchError("'duration' must be 5 to 480 minutes.", param="duration")
    program = Program.default()
    tz = ZoneInfo(program.time_zone)
    now = timezone.now()
    start_day: date = now.astimezone(tz).date()
    end_day = start_day + timedelta(days=SLOT_DAYS - 1)
    ranges = search.date_params(query, "start", tz)
    for r in ranges:
        if r.prefix in ("ge", "gt", "eq"):
            start_day = max(start_day, r.lower.astimezone(tz).date())
        if r.prefix in ("le", "lt", "eq"):
            end_day = r.upper.astimezone(tz).date()
    end_day = min(end_day, start_day + timedelta(days=31))
    if end_day < start_day:
        return []
    slots = []
    for clinician in clinicians:
        slots += availability.free_slots(program=program, start=start_day, end=end_day,
                                         minutes=int(minutes), now=now, clinician=clinician)
    slots.sort(key=lambda s: (s.start, s.clinician.pk, s.site_id))
    if ranges:  # the exact bounds too, not only the days
        slots = [s for s in slots if _matches(s.start, ranges)]
    return slots


def _matches(when: datetime, ranges) -> bool:
    for r in ranges:
        inside = r.lower <= when < r.upper
        ok = {"eq": inside, "ne": not inside, "gt": when >= r.upper, "ge": when >= r.lower,
              "lt": when < r.lower, "le": when < r.upper}[r.prefix]
        if not ok:
            return False
    return True


def slot_get(ident: str) -> availability.Slot | None:
    """The slot an id names, while it is still free (None if booked, past or never free)."""
    match = SLOT_ID.fullmatch(ident)
    if not match:
        return None
    clinician_id, site_id, epoch, minutes = (int(g) for g in match.groups())
    clinician = availability.bookable_clinicians().filter(pk=clinician_id).first()
    if clinician is None:
        return None
    program = Program.default()
    tz = ZoneInfo(program.time_zone)
    start = datetime.fromtimestamp(epoch, tz=UTC)
    day = start.astimezone(tz).date()
    for slot in availability.free_slots(program=program, start=day, end=day, minutes=minutes,
                                        now=timezone.now(), clinician=clinician):
        if slot.site_id == site_id and int(slot.start.timestamp()) == epoch:  # as slot_id
            return slot
    return None
