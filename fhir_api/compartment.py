"""A set of patients' compartment: every resource that references them, by type.

``Rows`` fetches what a set of patients' resources are built from, each list once and only
when a type needs it, so every type costs a fixed number of queries for any number of
patients. ``_revinclude`` and ``Patient/{id}/$everything`` take the R4B models
(``resources_for``); the Bulk Data export, which walks the patients in chunks, takes the
plain data (``records``) and writes it without building a model per resource. The callers
scope and audit: the patients given here are already the ones the reader may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

from django.db.models import prefetch_related_objects

from outcomes.models import SafetyAlert
from patients.models import Intake, Patient
from visits.models import Enrolment

from . import appointments as individual
from . import letters, resources, selectors

# The order $everything and the export list them in.
TYPES = ("Patient", "QuestionnaireResponse", "Observation", "ServiceRequest", "Appointment",
         "Encounter", "Flag", "DocumentReference")
CLOSED_REFERRALS = ("discharged", "declined", "cancelled")


class Rows:
    """The rows behind the compartment of ``ids``. ``patients``: their rows if the caller
    has them already (with ``program``), in id order. ``sessions_done``: group sessions
    already written (the export: a session has patients in several chunks, and is written
    once, with the first); they are neither loaded again nor built."""

    def __init__(self, ids: Iterable[int], *, patients: list | None = None,
                 sessions_done: set[int] | None = None):
        self.ids = list(ids)
        if patients is not None:
            self.patients = patients
        self.sessions_done = set() if sessions_done is None else sessions_done

    @cached_property
    def patients(self) -> list:
        return list(selectors.patients().filter(pk__in=self.ids).order_by("pk"))

    @cached_property
    def responses(self) -> list:  # for QuestionnaireResponses and their Observations
        return list(selectors.responses().filter(patient_id__in=self.ids)
                    .order_by("patient_id", "answered_at", "pk"))

    @cached_property
    def referrals(self) -> list:
        return list(selectors.referrals().filter(patient_id__in=self.ids)
                    .order_by("patient_id", "referred_at", "pk"))

    @cached_property
    def visits(self) -> list:  # one-to-one appointments, for Appointments and Encounters
        return individual.of_patients(self.ids)

    @cached_property
    def with_intake(self) -> set[int]:
        return set(Intake.objects.filter(patient_id__in=self.ids).order_by()
                   .values_list("patient_id", flat=True))

    @cached_property
    def with_open_referral(self) -> set[int]:
        return {r.patient_id for r in self.referrals if r.status not in CLOSED_REFERRALS}

    def sessions(self) -> list:
        """The group sessions these patients take part in, less the ones done, with their
        facilitators."""
        series = (Enrolment.objects.filter(patient_id__in=self.ids,
                                           status__in=selectors.PARTICIPATING)
                  .values("series_id"))
        found = [s for s in selectors.sessions().prefetch_related(None)
                 .filter(series_id__in=series) if s.pk not in self.sessions_done]
        prefetch_related_objects(found, "facilitators")
        return found

    def participants(self, sessions: list) -> dict[int, list]:
        """Series id → its participating patients (enrolment order), for ``sessions``. Two
        index lookups: joined in one query, the planner reads every patient row instead."""
        series_ids = {s.series_id for s in sessions}
        if not series_ids:
            return {}
        pairs = list(Enrolment.objects.filter(series_id__in=series_ids,
                                              status__in=selectors.PARTICIPATING)
                     .order_by("series_id", "pk").values_list("series_id", "patient_id"))
        people = Patient.objects.only("pk", "given_name", "family_name").in_bulk(
            {patient_id for _, patient_id in pairs})
        out: dict[int, list] = defaultdict(list)
        for series_id, patient_id in pairs:
            out[series_id].append(people[patient_id])
        return out


def _patients(rows: Rows):
    for p in rows.patients:
        yield p.pk, resources.patient_data(p)


def _responses(rows: Rows):
    for r in rows.responses:
        yield r.patient_id, resources.questionnaire_response_data(r)


def _observations(rows: Rows):
    for r in rows.responses:
        for obs in resources.observations_data(r):
            yield r.patient_id, obs


def _referrals(rows: Rows):
    for r in rows.referrals:
        yield r.patient_id, resources.service_request_data(r)


def _appointments(rows: Rows):
    sessions = rows.sessions()
    participants = rows.participants(sessions)
    wanted = set(rows.ids)
    for session in sessions:
        people = participants[session.series_id]
        # Once per session, under the first of the wanted patients taking part.
        owner = next((p.pk for p in people if p.pk in wanted), None)
        if owner is not None:
            rows.sessions_done.add(session.pk)
            yield owner, resources.appointment_data(session, people)
    for appt in rows.visits:  # one-to-one visits (docs/product.md §8)
        yield appt.patient_id, individual.appointment_data(appt)


def _encounters(rows: Rows):
    for appt in rows.visits:
        if appt.status == individual.rules.ATTENDED:
            yield appt.patient_id, individual.encounter_data(appt)


def _flags(rows: Rows):
    for a in SafetyAlert.objects.filter(patient_id__in=rows.ids).order_by("patient_id",
                                                                          "opened_at", "pk"):
        yield a.patient_id, resources.flag_data(a)


def _documents(rows: Rows):
    for p in rows.patients:
        for kind in letters.KINDS:
            final = (p.pk in rows.with_intake if kind == "intake"
                     else p.pk not in rows.with_open_referral)
            yield p.pk, letters.document_reference_data(p, kind, final=final)


BUILDERS: dict[str, Callable[[Rows], Iterable[tuple[int, dict]]]] = {
    "Patient": _patients,
    "QuestionnaireResponse": _responses,
    "Observation": _observations,
    "ServiceRequest": _referrals,
    "Appointment": _appointments,
    "Encounter": _encounters,
    "Flag": _flags,
    "DocumentReference": _documents,
}


def records(rows: Rows, *, types: Iterable[str] = TYPES) -> Iterator[tuple[str, int, dict]]:
    """``(resource type, patient id, plain data)`` of every wanted type, in :data:`TYPES`
    order."""
    wanted = set(types)
    for resource_type in TYPES:
        if resource_type in wanted:
            for patient_id, data in BUILDERS[resource_type](rows):
                yield resource_type, patient_id, data


def resources_for(patient_ids: list[int], *, types: Iterable[str] = TYPES,
                  ) -> list[tuple[int, object]]:
    """``(patient id, resource)`` of every wanted type, in :data:`TYPES` order."""
    return [(patient_id, resources.validate(data))
            for _, patient_id, data in records(Rows(patient_ids), types=types)]
