"""Reads of patient data: lists with filters, the patient page, the timeline."""

from collections.abc import Callable

from django.db.models import Expression, Q

from .flags import MME_FLAG_THRESHOLDS
from .models import Patient

FLAG_FILTERS = {
    "red_flag": Q(red_flag=True),
    "not_improving": Q(not_improving=True),
    "responder": Q(responder=True),
    **{flag: Q(current_mme__gte=level) for flag, level in MME_FLAG_THRESHOLDS},
    "stopped_reminders": Q(consent_revoked_at__isnull=False, consent_to_contact=False),
    "open_safety_alert": Q(has_open_alert=True),
}


# What other apps add to every patient row (list and read), registered from their
# AppConfig.ready(): {attribute: a function returning an expression over OuterRef("pk")}.
# outcomes adds `has_open_alert` (the `open_safety_alert` flag and filter).
ROW_ANNOTATIONS: dict[str, Callable[[], Expression]] = {}


def register_row_annotation(name: str, build: Callable[[], Expression]) -> None:
    ROW_ANNOTATIONS[name] = build


def _with_row_annotations(qs):
    return qs.annotate(**{name: build() for name, build in ROW_ANNOTATIONS.items()})


def patient_list(*, q: str = "", risk_group: str = "", pathway: str = "", flag: str = ""):
    """Patients matching a name/MRN search and filters, with what list rows show."""
    qs = _with_row_annotations(Patient.objects.all())
    q = (q or "").strip()
    if q:
        cond = Q(mrn__iexact=q) | Q(mrn__istartswith=q)
        for term in q.split():
            cond |= Q(given_name__istartswith=term) | Q(family_name__istartswith=term)
        if len(q.split()) == 2:
            first, last = q.split()
            cond |= Q(given_name__istartswith=first, family_name__istartswith=last)
        qs = qs.filter(cond)
    if risk_group:
        qs = qs.filter(risk_group=risk_group)
    if pathway:
        qs = qs.filter(pathway=pathway)
    if flag in FLAG_FILTERS:
        qs = qs.filter(FLAG_FILTERS[flag])
    return qs.order_by("family_name", "given_name", "pk")


def patient_get(pk: int) -> Patient:
    return _with_row_annotations(Patient.objects.select_related("program", "clinician")).get(pk=pk)
