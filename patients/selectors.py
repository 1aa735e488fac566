"""Reads of patient data: lists with filters, the patient page, the timeline."""

from collections.abc import Callable

from django.db.models import Expression, Q

from .flags import MME_FLAG_THRESHOLDS
from .models import Patient
from .scoping import visible, visible_now
from .search import LIST_ORDER, search

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


def patient_list(*, user=None, q: str = "", risk_group: str = "", pathway: str = "",
                 flag: str = "", mine: bool = False, site=None):
    """Patients ``user`` may see (their sites') matching a name/MRN search and filters, with
    what list rows show, by name (family then given, any case) then id. ``mine``: the user's
    caseload (responsible clinician or care manager)."""
    # The sites as values: the planner then keeps to the name-ordered index for a page.
    qs = _with_row_annotations(
        visible_now(Patient.objects.select_related("clinician", "care_manager", "site"), user, ""))
    if mine and user is not None:
        qs = qs.filter(Q(clinician=user) | Q(care_manager=user))
    if site:
        qs = qs.filter(site_id=getattr(site, "pk", site))
    if risk_group:
        qs = qs.filter(risk_group=risk_group)
    if pathway:
        qs = qs.filter(pathway=pathway)
    if flag in FLAG_FILTERS:
        qs = qs.filter(FLAG_FILTERS[flag])
    # Name or MRN prefix, any case (patients/search.py: one index-ordered branch per way
    # of matching, so a common name reads a page, not every match).
    q = (q or "").strip()
    if q:
        return search(qs, q)
    return qs.order_by(*LIST_ORDER)


def patient_get(pk: int, user=None) -> Patient:
    return _with_row_annotations(
        visible(Patient.objects.select_related("program", "clinician", "care_manager", "site"),
                user, "")).get(pk=pk)
