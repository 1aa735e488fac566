"""The intake: one clinician action that writes to three apps in one transaction, so it
lives above them. Baseline questionnaires are stored by outcomes, the intake and the
patient's new state by patients (which applies the pathway rules), and a suggested
referral is created by referrals when the clinician clicks it (docs/product.md §3.1)."""

from django.db import transaction
from django.utils import timezone

from ipm.errors import InvalidInput
from outcomes import instruments
from outcomes.mme import InvalidAmount, parse_mme
from outcomes.models import QuestionnaireResponse, SafetyAlert
from outcomes.services import responses_create_many, responses_score
from patients import pathways
from patients.models import Intake, Patient
from patients.services import intake_clinician_ensure, intake_create
from referrals.models import Referral, Service
from referrals.services import referral_create

# The intake's questionnaires, from the instrument specs: the screen every intake answers
# (STarT Back) and the baseline measures offered (each may be skipped).
SCREEN_INSTRUMENT = next(i.code for i in instruments.all_instruments() if i.intake == "screen")
BASELINE_INSTRUMENTS = tuple(i.code for i in instruments.all_instruments()
                             if i.intake == "baseline")


def _check_intake(*, red_flags, startback, baseline: dict, mme_value):
    """(errors, scored questionnaires, MME): every section checked once, all errors at once."""
    errors: dict = {}
    rf = pathways.validate_red_flags(red_flags)
    if rf:
        errors["red_flags"] = rf
    scored = {}
    try:
        scored = responses_score({SCREEN_INSTRUMENT: startback if startback is not None else {},
                                  **{code: answers for code, answers in baseline.items()
                                     if answers is not None}})
    except InvalidInput as exc:
        errors.update(exc.errors)
    dose = None
    try:
        dose = parse_mme(mme_value)
    except InvalidAmount as exc:
        errors["mme"] = [str(exc)]
    return errors, scored, dose


def validate_intake(*, red_flags, startback, baseline: dict, mme) -> dict:
    """All per-field errors of an intake at once (nothing is saved when any exist)."""
    return _check_intake(red_flags=red_flags, startback=startback, baseline=baseline,
                         mme_value=mme)[0]


@transaction.atomic
def intake_record(*, patient: Patient, red_flags, startback, baseline: dict | None = None,
                  mme=None, actor=None) -> Intake:
    """Record a whole intake in one transaction: red flags, STarT Back, baseline
    questionnaires, MME, the rules' suggestion, and the patient's current state.
    Raises InvalidInput with per-field errors (keyed by section) and saves nothing."""
    baseline = {k: v for k, v in (baseline or {}).items() if v is not None}
    unknown = [k for k in baseline if k not in BASELINE_INSTRUMENTS]
    errors, scored, mme_value = _check_intake(
        red_flags=red_flags, startback=startback,
        baseline={k: v for k, v in baseline.items() if k not in unknown}, mme_value=mme)
    for k in unknown:
        errors[k] = [f"'{k}' is not a baseline instrument ({', '.join(BASELINE_INSTRUMENTS)})."]
    if errors:
        raise InvalidInput("The intake has invalid or missing answers.", errors)
    # Before the answers: an alert opened by them goes to this responsible clinician.
    intake_clinician_ensure(patient=patient, actor=actor)
    now = timezone.now()
    responses = responses_create_many(
        patient=patient, scored=scored,
        actor=actor, context=QuestionnaireResponse.Context.INTAKE, answered_at=now)
    by_code = {r.instrument: r for r in responses}
    intake = intake_create(
        patient=patient, red_flags=red_flags, startback=by_code[SCREEN_INSTRUMENT].scores,
        phq9_total=by_code["phq9"].scores["total"] if "phq9" in by_code else None,
        gad7_total=by_code["gad7"].scores["total"] if "gad7" in by_code else None,
        mme=mme_value, actor=actor, at=now)
    intake.responses = responses
    return intake


def intake_result(intake: Intake) -> dict:
    """The API/page view of an intake's outcome."""
    responses = getattr(intake, "responses", None)
    if responses is None:
        responses = list(QuestionnaireResponse.objects.filter(
            patient_id=intake.patient_id, context=QuestionnaireResponse.Context.INTAKE,
            answered_at=intake.created_at))
    scores = {r.instrument: r.scores for r in responses}
    alerts = [{"id": a.pk, "kind": a.kind, "status": a.status}
              for r in responses for a in getattr(r, "alerts", [])]
    if not alerts:
        alerts = [{"id": a.pk, "kind": a.kind, "status": a.status}
                  for a in SafetyAlert.objects.filter(response__in=[r.pk for r in responses])]
    return {
        "intake_id": intake.pk,
        "patient": intake.patient_id,
        "risk_group": intake.risk_group,
        "startback_total": intake.startback_total,
        "startback_psychosocial": intake.startback_psychosocial,
        "red_flags_present": [k for k, v in intake.red_flags.items() if v],
        "suggested_pathway": intake.suggested_pathway,
        "suggested_referrals": intake.suggested_referrals,
        "mme": float(intake.mme) if intake.mme is not None else None,
        "scores": scores,
        "alerts": alerts,
    }


def suggested_referral_create(*, intake: Intake, service_code: str, actor=None):
    """One click on a suggested referral creates it (once)."""
    match = next((r for r in intake.suggested_referrals if r["service"] == service_code), None)
    if match is None:
        raise InvalidInput("That referral was not suggested by this intake.",
                           {"service": ["Not a suggested referral."]})
    existing = Referral.objects.filter(patient_id=intake.patient_id, service__code=service_code,
                                       referred_at__gte=intake.created_at).first()
    if existing:
        return existing
    service = Service.objects.get(code=service_code)
    complex_case = intake.risk_group == "high" or any(intake.red_flags.values())
    return referral_create(patient=intake.patient, service=service, reason=match["reason"],
                           priority=match["priority"], actor=actor, needs_mdt=complex_case)
