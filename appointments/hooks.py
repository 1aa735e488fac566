"""What this app plugs into the apps below it, called once from AppointmentsConfig.ready():
the `appointment` reminder kind (reminders' kind registry), the "missed appointments"
worklist section (outcomes), the appointment rows of the patient timeline (patients) and
the FHIR Appointment/Encounter/Schedule/Slot views (ipm.fhir's RESOURCE_VIEWS).
None of those apps imports this one."""

from outcomes.selectors import WORKLIST_SECTIONS, register_worklist_section
from reminders import kinds

from . import fhir, selectors
from .reminders import AppointmentKind


def missed_appointments_section(*, today, clinician=None) -> dict:
    reviews = selectors.open_attendance_reviews(clinician=clinician)
    return {"key": "missed_appointments", "title": "Missed appointments: review",
            "template": "appointments/_worklist_section.html", "items": reviews,
            "patients": [r.patient for r in reviews]}


def register() -> None:
    if AppointmentKind.code not in kinds.KINDS:
        kinds.register(AppointmentKind)
    if missed_appointments_section not in WORKLIST_SECTIONS:
        register_worklist_section(missed_appointments_section)
    fhir.register()
