"""Every write to patients: create, update, intake, pathway decisions."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput
from outcomes import instruments
from outcomes.mme import InvalidAmount, parse_mme
from outcomes.models import QuestionnaireResponse
from outcomes.services import responses_create_many, responses_score

from . import pathways
from .models import Intake, Pathway, PathwayDecision, Patient, Program, Site

PATIENT_FIELDS = ("mrn", "given_name", "family_name", "birth_date", "sex", "email", "phone",
                  "preferred_channel", "consent_to_contact", "timezone")
# The intake's questionnaires, from the instrument specs: the screen every intake answers
# (STarT Back) and the baseline measures offered (each may be skipped).
SCREEN_INSTRUMENT = next(i.code for i in instruments.all_instruments() if i.intake == "screen")
BASELINE_INSTRUMENTS = tuple(i.code for i in instruments.all_instruments()
                             if i.intake == "baseline")


def site_for_new_record(*, program: Program, actor=None) -> Site:
    """The site of a patient, series or appointment created without one: the creator's site
    when they work at exactly one, else the program's only site; otherwise the caller must
    choose (400 naming ``site``)."""
    sites = list(program.sites.all()[:2])
    if len(sites) == 1:
        return sites[0]
    if getattr(actor, "pk", None):
        mine = list(program.sites.filter(staff=actor)[:2])
        if len(mine) == 1:
            return mine[0]
    msg = "Choose the site: this program has several and yours cannot be inferred."
    raise InvalidInput(msg, {"site": [msg]})


def _full_clean(patient: Patient) -> None:
    try:
        patient.full_clean(exclude=["program", "site", "clinician", "care_manager"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput("Some patient details are invalid.", exc.message_dict)


def _mrn_taken(program, mrn, exclude_pk=None) -> bool:
    qs = Patient.objects.filter(program=program, mrn=mrn)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _duplicate_mrn(mrn: str) -> Conflict:
    msg = f"A patient with MRN {mrn} already exists in this program."
    return Conflict(msg, {"mrn": [msg]})


@transaction.atomic
def patient_create(*, actor=None, program: Program | None = None, clinician=None,
                   site: Site | None = None, care_manager=None, **data) -> Patient:
    program = program or Program.default()
    site = site or site_for_new_record(program=program, actor=actor)
    data.setdefault("timezone", program.time_zone)
    patient = Patient(program=program, site=site, care_manager=care_manager,
                      **{k: v for k, v in data.items() if k in PATIENT_FIELDS})
    if clinician is None and getattr(actor, "pk", None):
        from ipm.roles import CLINICIAN, has_role

        clinician = actor if has_role(actor, CLINICIAN) else None
    patient.clinician = clinician
    if patient.consent_to_contact is None:
        patient.consent_to_contact = False
    _full_clean(patient)
    if _mrn_taken(program, patient.mrn):
        raise _duplicate_mrn(patient.mrn)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:  # lost a race with another create of the same MRN
        raise _duplicate_mrn(patient.mrn)
    audit_record(actor=actor, action="create", obj=patient)
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, actor=None, **data) -> Patient:
    changed = [k for k in data if k in PATIENT_FIELDS and getattr(patient, k) != data[k]]
    for k in changed:
        setattr(patient, k, data[k])
    _full_clean(patient)
    if "mrn" in changed and _mrn_taken(patient.program, patient.mrn, exclude_pk=patient.pk):
        raise _duplicate_mrn(patient.mrn)
    if "consent_to_contact" in changed and patient.consent_to_contact:
        patient.consent_revoked_at = None
        changed.append("consent_revoked_at")
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action="update", obj=patient, detail={"fields": changed})
    return patient


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
    now = timezone.now()
    responses = responses_create_many(
        patient=patient, scored=scored,
        actor=actor, context=QuestionnaireResponse.Context.INTAKE, answered_at=now)
    by_code = {r.instrument: r for r in responses}
    sb = by_code[SCREEN_INSTRUMENT].scores
    suggestion = pathways.suggest(
        risk_group=sb["risk_group"], red_flags=red_flags,
        phq9_total=by_code["phq9"].scores["total"] if "phq9" in by_code else None,
        gad7_total=by_code["gad7"].scores["total"] if "gad7" in by_code else None,
    )
    intake = Intake.objects.create(
        patient=patient, red_flags={k: bool(red_flags[k]) for k in pathways.RED_FLAG_KEYS},
        startback_total=sb["total"], startback_psychosocial=sb["psychosocial"],
        risk_group=sb["risk_group"], suggested_pathway=suggestion.pathway,
        suggested_referrals=[r.__dict__ for r in suggestion.referrals], mme=mme_value,
        created_by=actor if getattr(actor, "pk", None) else None, created_at=now,
    )
    intake.responses = responses
    patient.risk_group = sb["risk_group"]
    patient.pathway = suggestion.pathway  # suggested until a clinician confirms or overrides
    patient.red_flag = bool(suggestion.red_flags_present)
    fields = ["risk_group", "pathway", "red_flag", "updated_at"]
    if patient.intake_date is None:
        patient.intake_date = timezone.localdate(now)
        fields.append("intake_date")
    if mme_value is not None:
        patient.current_mme = mme_value
        fields.append("current_mme")
        if patient.baseline_mme is None:
            patient.baseline_mme = mme_value
            fields.append("baseline_mme")
    patient.save(update_fields=fields)
    audit_record(actor=actor, action="create", obj=intake)
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
        from outcomes.models import SafetyAlert

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


@transaction.atomic
def pathway_decide(*, patient: Patient, pathway: str, actor=None, reason: str = "",
                   intake: Intake | None = None) -> PathwayDecision:
    """Confirm the suggested pathway, or override it with a reason (SPEC §3.1)."""
    if pathway not in Pathway.values:
        raise InvalidInput("Unknown pathway.", {"pathway": [f"Use one of {', '.join(Pathway.values)}."]})
    intake = intake or patient.intakes.order_by("-created_at").first()
    suggested = intake.suggested_pathway if intake else ""
    overridden = bool(suggested) and pathway != suggested
    reason = (reason or "").strip()
    if overridden and not reason:
        msg = "A reason is required to override the suggested pathway."
        raise InvalidInput(msg, {"reason": [msg]})
    decision = PathwayDecision.objects.create(
        patient=patient, intake=intake, suggested=suggested, pathway=pathway,
        overridden=overridden, reason=reason,
        decided_by=actor if getattr(actor, "pk", None) else None)
    patient.pathway = pathway
    patient.save(update_fields=["pathway", "updated_at"])
    audit_record(actor=actor, action="pathway_override" if overridden else "pathway_confirm",
                 obj=decision, patient_id=patient.pk)
    return decision


def suggested_referral_create(*, intake: Intake, service_code: str, actor=None):
    """One click on a suggested referral creates it (once)."""
    from referrals.models import Referral, Service
    from referrals.services import referral_create

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


def instrument_codes() -> tuple[str, ...]:
    return instruments.CODES


@transaction.atomic
def patient_step_set(*, patient: Patient, step: int, actor=None) -> Patient:
    """Set the patient's care step (1-3). The one write path for `Patient.step`: the care
    app's step decision calls it and keeps the history (care.StepDecision)."""
    if isinstance(step, bool) or step not in (1, 2, 3):
        msg = "The care step is 1, 2 or 3."
        raise InvalidInput(msg, {"step": [msg]})
    if patient.step != step:
        before = patient.step
        patient.step = step
        patient.save(update_fields=["step", "updated_at"])
        audit_record(actor=actor, action="update", obj=patient,
                     detail={"fields": ["step"], "step": {"from": before, "to": step}})
    return patient
