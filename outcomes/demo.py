"""Demo outcomes for `manage.py demo_data`: a year of follow-up questionnaires for the demo
patients (most improving, some not), measures left unanswered so the worklist has work,
one open safety alert, and medication reviews for patients on opioids. Everything goes
through the services, as it would in use."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from . import instruments, schedule, services, synthetic
from .models import QuestionnaireResponse

FOLLOW_UP = ("peg", "phq9", "gad7")


def _scaled(code: str, baseline: dict, factor: float) -> dict:
    """Each item of a baseline answer set moved towards the best answer by `factor`
    (1 = unchanged, 0.5 = halfway), snapped to an allowed value."""
    out = {}
    for item in instruments.get(code).items:
        if item.key not in baseline:
            continue
        allowed = item.allowed_values
        target = baseline[item.key] * factor
        out[item.key] = min(allowed, key=lambda v, t=target: abs(v - t))
    return out


def _promis29(severity: float) -> dict:
    """PROMIS-29 answers at the patient's latent severity (0 best, 1 worst): the same
    severity their PEG, PHQ-9 and GAD-7 answers came from (outcomes.synthetic)."""
    return synthetic.answers_at("promis29", severity)


def _middle(code: str) -> dict:
    """An answer set picking the middle option of every required item."""
    out = {}
    for item in instruments.get(code).items:
        if item.required:
            options = [o.value for o in item.options]
            out[item.key] = options[len(options) // 2]
    return out


def _at(day, hour=10):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def populate(ctx: dict) -> None:
    clinician = ctx["users"]["clinician"]
    today = timezone.localdate()
    patients = [p for p in ctx["patients"] if p.intake_date]
    alert_opened = False
    severities = ctx.get("severity") or {}
    for index, patient in enumerate(patients):
        improving = index % 3 != 1
        severity = severities.get(patient.pk, 0.4)
        baselines = {r.instrument: r.answers for r in
                     QuestionnaireResponse.objects.filter(patient=patient, context="intake")}
        if "promis29" not in baselines:  # the intake skipped it: done at the first visit
            services.response_create(patient=patient, instrument="promis29",
                                     answers=_promis29(severity), actor=clinician, context="intake",
                                     answered_at=_at(patient.intake_date, 11))
        for weeks in (6, 12, 26, 52):
            due = patient.intake_date + timedelta(weeks=weeks)
            if due > today:
                break
            recent = (today - due).days <= schedule.OVERDUE_DAYS
            if recent and index % 2 == 0:
                continue  # left for the worklist: due or overdue now
            factor = max(0.45, 1 - weeks / 40) if improving else 1.0
            answered_at = _at(min(due + timedelta(days=index % 4), today))
            for code in FOLLOW_UP:
                if code not in baselines:
                    continue
                answers = _scaled(code, baselines[code], factor)
                if code == "phq9" and not alert_opened and recent and not improving:
                    answers["q9"] = 1  # thoughts of self-harm "several days": opens the alert
                    alert_opened = True
                services.response_create(patient=patient, instrument=code, answers=answers,
                                         actor=clinician, context="follow_up",
                                         answered_at=answered_at)
            if weeks in (12, 26, 52):
                services.response_create(patient=patient, instrument="promis29",
                                         answers=_promis29(severity * factor), actor=clinician,
                                         context="follow_up", answered_at=answered_at)
            if weeks in (12, 52):
                services.response_create(patient=patient, instrument="nps",
                                         answers={"q1": 9 if improving else 6},
                                         context="follow_up", answered_at=answered_at)
        if patient.current_mme and patient.intake_date <= today - timedelta(weeks=8):
            start = float(patient.current_mme)
            services.medication_review_create(
                patient=patient, actor=clinician, reviewed_at=_at(patient.intake_date + timedelta(weeks=6)),
                lines=[{"drug": "morphine", "dose": round(start / 2, 1), "doses_per_day": 2}],
                note="Reviewed at follow-up; plan agreed.")
            if improving:
                services.medication_review_create(
                    patient=patient, actor=clinician,
                    reviewed_at=_at(min(patient.intake_date + timedelta(weeks=12), today)),
                    lines=[{"drug": "morphine", "dose": round(start / 4, 1), "doses_per_day": 2}],
                    note="Tapering as planned.")
    if not alert_opened and patients:
        services.response_create(patient=patients[0], instrument="phq9",
                                 answers={**_middle("phq9"), "q9": 1}, actor=clinician,
                                 context="follow_up")
    # One link sent and still open, as a coordinator would from the worklist.
    for patient in patients:
        if patient.consent_to_contact and patient.preferred_channel != "none":
            services.questionnaire_link_create(patient=patient, instruments=["peg", "phq9"],
                                               actor=ctx["users"]["coordinator"])
            break
