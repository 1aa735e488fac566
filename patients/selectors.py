"""Reads of patient data: lists with filters, the patient page, the timeline."""

from django.db.models import Exists, OuterRef, Q

from .models import Patient
from .scoping import visible

FLAG_FILTERS = {
    "red_flag": Q(red_flag=True),
    "not_improving": Q(not_improving=True),
    "responder": Q(responder=True),
    "mme_50": Q(current_mme__gte=50),
    "mme_90": Q(current_mme__gte=90),
    "stopped_reminders": Q(consent_revoked_at__isnull=False, consent_to_contact=False),
    "open_safety_alert": Q(has_open_alert=True),
}


def _open_alert_exists():
    """EXISTS, not COUNT: no GROUP BY over the whole patient table (and a cheap list count)."""
    from outcomes.models import SafetyAlert

    return Exists(SafetyAlert.objects.filter(patient=OuterRef("pk"), status="open"))


def patient_list(*, user=None, q: str = "", risk_group: str = "", pathway: str = "",
                 flag: str = "", mine: bool = False, site=None):
    """Patients ``user`` may see (their sites') matching a name/MRN search and filters, with
    what list rows show. ``mine``: the user's caseload (responsible clinician or care
    manager)."""
    qs = visible(Patient.objects.select_related("clinician", "care_manager", "site"), user, "")
    qs = qs.annotate(has_open_alert=_open_alert_exists())
    if mine and user is not None:
        qs = qs.filter(Q(clinician=user) | Q(care_manager=user))
    if site:
        qs = qs.filter(site_id=getattr(site, "pk", site))
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


def patient_get(pk: int, user=None) -> Patient:
    return (visible(Patient.objects.select_related("program", "clinician", "care_manager", "site"),
                    user, "")
            .annotate(has_open_alert=_open_alert_exists())
            .get(pk=pk))


def patient_page(patient: Patient) -> dict:
    """Everything the patient page shows, in a fixed number of queries."""
    from outcomes.instruments import get as get_instrument
    from outcomes.models import QuestionnaireResponse, SafetyAlert
    from referrals.models import Referral, ReferralEvent

    latest = {}
    for r in (QuestionnaireResponse.objects.filter(patient=patient)
              .order_by("instrument", "-answered_at", "-pk")):
        latest.setdefault(r.instrument, r)
    latest_scores = [
        {"code": code, "name": get_instrument(code).name, "answered_at": r.answered_at,
         "scores": r.scores, "summary": score_summary(code, r.scores)}
        for code, r in sorted(latest.items(), key=lambda kv: _ORDER.get(kv[0], 99))
    ]
    referrals = list(Referral.objects.filter(patient=patient).select_related("service", "assignee")
                     .order_by("-referred_at"))
    alerts = list(SafetyAlert.objects.filter(patient=patient, status="open"))
    intakes = list(patient.intakes.all())
    decisions = list(patient.pathway_decisions.select_related("decided_by"))
    from visits.selectors import enrolments_for_patient

    enrolments = list(enrolments_for_patient(patient))
    timeline = []
    for i in intakes:
        timeline.append((i.created_at, "Intake", f"STarT Back {i.get_risk_group_display()} "
                         f"(total {i.startback_total}, psychosocial {i.startback_psychosocial})"))
    for d in decisions:
        verb = "overridden to" if d.overridden else "confirmed as"
        timeline.append((d.decided_at, "Pathway", f"{verb} {d.get_pathway_display()}"
                         + (f": {d.reason}" if d.reason else "")))
    for r in QuestionnaireResponse.objects.filter(patient=patient).order_by("-answered_at")[:50]:
        timeline.append((r.answered_at, "Questionnaire",
                         f"{r.instrument.upper()}: {score_summary(r.instrument, r.scores)}"))
    for ev in (ReferralEvent.objects.filter(referral__patient=patient)
               .select_related("referral__service", "actor")):
        timeline.append((ev.at, "Referral",
                         f"{ev.referral.service.name}: {ev.from_status or 'created'} → {ev.to_status}"))
    timeline.sort(key=lambda row: row[0], reverse=True)
    return {"latest_scores": latest_scores, "referrals": referrals, "alerts": alerts,
            "intakes": intakes, "decisions": decisions, "enrolments": enrolments,
            "timeline": timeline[:100], "latest_intake": intakes[0] if intakes else None}


_ORDER = {c: i for i, c in enumerate(("startback", "peg", "phq9", "gad7", "promis29",
                                      "promis_gh", "nps"))}


def score_summary(code: str, scores: dict) -> str:
    """A short human summary of a score dict, e.g. 'total 12 (moderate)'."""
    if code == "startback":
        return f"total {scores['total']}, psychosocial {scores['psychosocial']} ({scores['risk_group']} risk)"
    if code == "peg":
        return f"score {scores['score']}"
    if code in ("phq9", "gad7"):
        return f"total {scores['total']} ({scores['severity'].replace('_', ' ')})"
    if code == "nps":
        return f"{scores['score']} ({scores['category']})"
    parts = []
    for key, value in scores.items():
        if isinstance(value, dict) and "t_score" in value:
            parts.append(f"{key.replace('_', ' ')} T {value['t_score']}")
    if "pain_intensity" in scores:
        parts.append(f"pain intensity {scores['pain_intensity']}")
    return ", ".join(parts)
