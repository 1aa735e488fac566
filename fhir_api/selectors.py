"""Reads for the FHIR API: one query per list, related rows joined or prefetched, so a page
costs the same number of queries whatever its size."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, QuerySet

from outcomes.models import QuestionnaireResponse, SafetyAlert
from patients.models import Patient
from referrals.models import Referral
from visits.models import Enrolment, GroupSession

from . import codes
from .search import Token

# Patients who take part in a group session: enrolled now, or completed the series.
PARTICIPATING = (Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED)


def patients() -> QuerySet[Patient]:
    return Patient.objects.select_related("program")


def patients_search(*, identifiers: list[Token] | None = None, names: list[list[str]] = (),
                    birthdate: Q | None = None) -> QuerySet[Patient]:
    """``identifiers``: MRN tokens (``system|value`` or ``value``), any of them; ``names``:
    for each ``name`` parameter, alternatives matching the start of the given or family
    name (case-insensitive); every parameter must match."""
    qs = patients()
    if identifiers is not None:
        q = Q(pk__in=[])
        for token in identifiers:
            part = Q()
            if token.system is not None:
                if not token.system.startswith(codes.MRN_SYSTEM_PREFIX):
                    continue  # no identifiers in that system here
                part &= Q(program__slug=token.system[len(codes.MRN_SYSTEM_PREFIX):])
            if token.code is not None:
                part &= Q(mrn=token.code)
            q |= part
        qs = qs.filter(q)
    for alternatives in names:
        q = Q(pk__in=[])
        for value in alternatives:
            q |= Q(given_name__istartswith=value) | Q(family_name__istartswith=value)
        qs = qs.filter(q)
    if birthdate is not None:
        qs = qs.filter(birthdate)
    return qs


def responses() -> QuerySet[QuestionnaireResponse]:
    return QuestionnaireResponse.objects.select_related("entered_by").order_by("answered_at", "pk")


def responses_search(*, patient_ids: list[int] | None, instruments: list[str] | None = None,
                     authored: Q | None = None) -> QuerySet[QuestionnaireResponse]:
    qs = responses()
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    if instruments is not None:
        qs = qs.filter(instrument__in=instruments)
    if authored is not None:
        qs = qs.filter(authored)
    return qs


def referrals() -> QuerySet[Referral]:
    return (Referral.objects.select_related("service", "referred_by", "assignee")
            .order_by("referred_at", "pk"))


def referrals_search(*, patient_ids: list[int] | None, statuses: list[str] | None = None,
                     ) -> QuerySet[Referral]:
    qs = referrals()
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    return qs


def sessions() -> QuerySet[GroupSession]:
    return (GroupSession.objects
            .select_related("series__service", "series__lead_clinician", "lead_clinician")
            .prefetch_related("facilitators")
            .order_by("starts_at", "pk"))


def sessions_search(*, patient_ids: list[int] | None, date: Q | None = None,
                    ) -> QuerySet[GroupSession]:
    qs = sessions()
    if patient_ids is not None:
        series = (Enrolment.objects.filter(patient_id__in=patient_ids, status__in=PARTICIPATING)
                  .values("series_id"))
        qs = qs.filter(series_id__in=series)
    if date is not None:
        qs = qs.filter(date)
    return qs


def session_participants(sessions_shown) -> dict[int, list[Patient]]:
    """Series id → its participating patients, for the series of ``sessions_shown``."""
    series_ids = {s.series_id for s in sessions_shown}
    out: dict[int, list[Patient]] = defaultdict(list)
    if not series_ids:
        return out
    rows = (Enrolment.objects.filter(series_id__in=series_ids, status__in=PARTICIPATING)
            .select_related("patient").order_by("series_id", "pk"))
    for enrolment in rows:
        out[enrolment.series_id].append(enrolment.patient)
    return out


def alerts() -> QuerySet[SafetyAlert]:
    return SafetyAlert.objects.order_by("opened_at", "pk")


def alerts_search(*, patient_ids: list[int] | None, statuses: list[str] | None = None,
                  ) -> QuerySet[SafetyAlert]:
    qs = alerts()
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    return qs
