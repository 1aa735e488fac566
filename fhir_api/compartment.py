"""A set of patients' compartment: every resource that references them, by type.

One builder per resource type, each a fixed number of queries for any number of patients,
so ``_revinclude``, ``Patient/{id}/$everything`` and the Bulk Data export (which walks the
patients in chunks) share them. The callers scope and audit: the ids given here are already
the ones the reader may see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from outcomes.models import QuestionnaireResponse, SafetyAlert
from patients.models import Intake, Patient
from referrals.models import Referral
from visits.models import Enrolment

from . import appointments as individual
from . import letters, resources, selectors

# The order $everything and the export list them in.
TYPES = ("Patient", "QuestionnaireResponse", "Observation", "ServiceRequest", "Appointment",
         "Encounter", "Flag", "DocumentReference")


def _patients(ids):
    for p in selectors.patients().filter(pk__in=ids).order_by("pk"):
        yield p.pk, resources.patient_resource(p)


def _responses(ids):
    for r in selectors.responses().filter(patient_id__in=ids).order_by("patient_id", "answered_at",
                                                                       "pk"):
        yield r.patient_id, resources.questionnaire_response_resource(r)


def _observations(ids):
    qs = (QuestionnaireResponse.objects.filter(patient_id__in=ids)
          .order_by("patient_id", "answered_at", "pk"))
    for r in qs:
        for obs in resources.observations_for(r):
            yield r.patient_id, obs


def _referrals(ids):
    for r in selectors.referrals().filter(patient_id__in=ids).order_by("patient_id", "referred_at",
                                                                       "pk"):
        yield r.patient_id, resources.service_request_resource(r)


def _appointments(ids):
    series = (Enrolment.objects.filter(patient_id__in=ids, status__in=selectors.PARTICIPATING)
              .values("series_id"))
    sessions = list(selectors.sessions().filter(series_id__in=series))
    participants = selectors.session_participants(sessions)
    wanted = set(ids)
    for session in sessions:
        people = participants[session.series_id]
        resource = resources.appointment_resource(session, people)
        # Once per session, under the first of the wanted patients taking part.
        owner = next((p.pk for p in people if p.pk in wanted), None)
        if owner is not None:
            yield owner, resource
    for appt in individual.of_patients(ids):  # one-to-one visits (docs/product.md §8)
        yield appt.patient_id, individual.appointment_resource(appt)


def _encounters(ids):
    for appt in individual.of_patients(ids):
        if appt.status == individual.rules.ATTENDED:
            yield appt.patient_id, individual.encounter_resource(appt)


def _flags(ids):
    for a in SafetyAlert.objects.filter(patient_id__in=ids).order_by("patient_id", "opened_at",
                                                                     "pk"):
        yield a.patient_id, resources.flag_resource(a)


def _documents(ids):
    with_intake = set(Intake.objects.filter(patient_id__in=ids).values_list("patient_id",
                                                                           flat=True))
    open_referrals = set(Referral.objects.filter(patient_id__in=ids)
                         .exclude(status__in=("discharged", "declined", "cancelled"))
                         .values_list("patient_id", flat=True))
    for p in Patient.objects.filter(pk__in=ids).order_by("pk"):
        for kind in letters.KINDS:
            yield p.pk, letters.document_reference(
                p, kind, final=(p.pk in with_intake if kind == "intake"
                                else p.pk not in open_referrals))


BUILDERS: dict[str, Callable[[list[int]], Iterable[tuple[int, object]]]] = {
    "Patient": _patients,
    "QuestionnaireResponse": _responses,
    "Observation": _observations,
    "ServiceRequest": _referrals,
    "Appointment": _appointments,
    "Encounter": _encounters,
    "Flag": _flags,
    "DocumentReference": _documents,
}


def resources_for(patient_ids: list[int], *, types: Iterable[str] = TYPES,
                  ) -> list[tuple[int, object]]:
    """``(patient id, resource)`` of every wanted type, in :data:`TYPES` order."""
    wanted = set(types)
    out: list[tuple[int, object]] = []
    for resource_type in TYPES:
        if resource_type in wanted:
            out += list(BUILDERS[resource_type](list(patient_ids)))
    return out
