"""Reads that compose several apps: the patient chart (latest scores, referrals, group
programmes, alerts, intakes, pathway decisions and one timeline) and the home page."""

from appointments.selectors import timeline_entries
from ipm import roles
from outcomes import instruments
from outcomes.models import QuestionnaireResponse, SafetyAlert
from outcomes.selectors import open_alerts_for_home
from patients.models import Patient
from referrals.models import Referral, ReferralEvent
from referrals.selectors import queue_summary
from visits.selectors import enrolments_for_patient


def home_context(user) -> dict:
    """What each role sees on its home page: the widgets of its daily work."""
    ctx: dict = {"widgets": []}
    if roles.has_role(user, roles.CLINICIAN, roles.COORDINATOR):
        ctx["open_alerts"] = open_alerts_for_home(user)
    if roles.has_role(user, roles.COORDINATOR):
        ctx["queue_summary"] = queue_summary(user=user)
    return ctx


def patient_page(patient: Patient) -> dict:
    """Everything the patient page shows, in a fixed number of queries."""
    latest = {}
    for r in (QuestionnaireResponse.objects.filter(patient=patient)
              .order_by("instrument", "-answered_at", "-pk")):
        latest.setdefault(r.instrument, r)
    latest_scores = [
        {"code": code, "name": instruments.get(code).name, "answered_at": r.answered_at,
         "scores": r.scores, "summary": score_summary(code, r.scores)}
        for code, r in sorted(latest.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER)))
    ]
    referrals = list(Referral.objects.filter(patient=patient).select_related("service", "assignee")
                     .order_by("-referred_at"))
    alerts = list(SafetyAlert.objects.filter(patient=patient, status="open")
                  .select_related("assigned_to"))
    cssrs = (QuestionnaireResponse.objects.filter(patient=patient, instrument="cssrs_screen")
             .order_by("-answered_at", "-pk").values("scores", "answered_at").first())
    intakes = list(patient.intakes.all())
    decisions = list(patient.pathway_decisions.select_related("decided_by"))
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
                         f"{instruments.get(r.instrument).short_label}: "
                         f"{score_summary(r.instrument, r.scores)}"))
    for ev in (ReferralEvent.objects.filter(referral__patient=patient)
               .select_related("referral__service", "actor")):
        timeline.append((ev.at, "Referral",
                         f"{ev.referral.service.name}: {ev.from_status or 'created'} → {ev.to_status}"))
    timeline.extend(timeline_entries(patient))  # appointments and signed visit notes
    timeline.sort(key=lambda row: row[0], reverse=True)
    return {"latest_scores": latest_scores, "referrals": referrals, "alerts": alerts,
            "cssrs_risk": cssrs["scores"].get("risk_level") if cssrs else None,
            "cssrs_at": cssrs["answered_at"] if cssrs else None,
            "intakes": intakes, "decisions": decisions, "enrolments": enrolments,
            "timeline": timeline[:100], "latest_intake": intakes[0] if intakes else None}


_ORDER = {code: i for i, code in enumerate(instruments.CODES)}


def score_summary(code: str, scores: dict) -> str:
    """A short human summary of a score dict, e.g. 'total 12 (moderate)' (the instrument's)."""
    return instruments.get(code).summary(scores)
