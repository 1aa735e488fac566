"""Every write to patients: create, update, intake, pathway decisions."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput
from outcomes import instruments
from outcomes.models import QuestionnaireResponse
from outcomes.services import responses_create_many, validate_answers

from . import pathways
from .models import Intake, Pathway, PathwayDecision, Patient, Program, Site

PATIENT_FIELDS = ("mrn", "given_name", "family_name", "birth_date", "sex", "email", "phone",
                  "preferred_channel", "consent_to_contact", "timezone")
BASELINE_INSTRUMENTS = ("peg", "phq9", "gad7", "promis29")


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


def _validate_caseload(*, site: Site, clinician, care_manager, require_clinician=False) -> None:
    """The responsible clinician must be an active clinician and the care manager an active
    clinician or coordinator, both working at the patient's site (else they could not see
    the patient): 400 naming the field."""
    from ipm.roles import CLINICIAN, COORDINATOR, has_role

    errors = {}
    if clinician is None and require_clinician:
        errors["clinician"] = ["Choose the patient's responsible clinician."]
    for field, person, roles_ok, what in (
            ("clinician", clinician, (CLINICIAN,), "an active clinician"),
            ("care_manager", care_manager, (CLINICIAN, COORDINATOR),
             "an active clinician or coordinator")):
        if person is None:
            continue
        if not person.is_active or not has_role(person, *roles_ok):
            errors[field] = [f"{person.get_username()} is not {what}."]
        elif not person.is_superuser and not site.staff.filter(pk=person.pk).exists():
            errors[field] = [f"{person.get_username()} does not work at {site.name}."]
    if errors:
        raise InvalidInput("Check the patient's care team: " + "; ".join(
            f"{k}: {v[0]}" for k, v in errors.items()), errors)


def _validate_site(site: Site, program: Program, actor) -> None:
    if site.program_id != program.pk:
        raise InvalidInput("That site belongs to another program.", {"site": ["Unknown site."]})
    if getattr(actor, "pk", None) and not actor.is_superuser and not site.staff.filter(
            pk=actor.pk).exists():
        msg = f"You do not work at {site.name}: choose one of your sites."
        raise InvalidInput(msg, {"site": [msg]})


@transaction.atomic
def patient_create(*, actor=None, program: Program | None = None, clinician=None,
                   site: Site | None = None, care_manager=None, **data) -> Patient:
    """Create a patient at a site with their care team. The responsible clinician defaults
    to the clinician doing the intake; anyone else (a coordinator) must choose one (400
    naming `clinician`). Automated senders (actor None) may leave it for triage."""
    from ipm.roles import CLINICIAN, STAFF_ROLES, has_role

    program = program or Program.default()
    site = site or site_for_new_record(program=program, actor=actor)
    _validate_site(site, program, actor)
    data.setdefault("timezone", program.time_zone)
    patient = Patient(program=program, site=site, care_manager=care_manager,
                      **{k: v for k, v in data.items() if k in PATIENT_FIELDS})
    person = getattr(actor, "pk", None) and has_role(actor, *STAFF_ROLES)
    if clinician is None and person and has_role(actor, CLINICIAN):
        clinician = actor
    patient.clinician = clinician
    if patient.consent_to_contact is None:
        patient.consent_to_contact = False
    _full_clean(patient)
    _validate_caseload(site=site, clinician=clinician, care_manager=care_manager,
                       require_clinician=bool(person))
    if _mrn_taken(program, patient.mrn):
        raise _duplicate_mrn(patient.mrn)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:  # lost a race with another create of the same MRN
        raise _duplicate_mrn(patient.mrn)
    audit_record(actor=actor, action="create", obj=patient,
                 detail={"site": site.pk, "clinician": getattr(clinician, "pk", None),
                         "care_manager": getattr(care_manager, "pk", None)})
    return patient


CARE_TEAM_FIELDS = ("site", "clinician", "care_manager")


@transaction.atomic
def patient_update(*, patient: Patient, actor=None, **data) -> Patient:
    """Change demographics and/or the care team (`site`, `clinician`, `care_manager`);
    each change is audited with the before and after of the care team."""
    changed = [k for k in data if k in PATIENT_FIELDS and getattr(patient, k) != data[k]]
    team = {k: data[k] for k in CARE_TEAM_FIELDS
            if k in data and getattr(patient, f"{k}_id") != getattr(data[k], "pk", None)}
    if "site" in team and team["site"] is None:
        raise InvalidInput("A patient always belongs to a site.", {"site": ["This field may not be null."]})
    if "clinician" in team and team["clinician"] is None:
        raise InvalidInput("Every patient has a responsible clinician: choose another instead.",
                           {"clinician": ["This field may not be null."]})
    before = {k: getattr(patient, f"{k}_id") for k in team}
    for k in changed:
        setattr(patient, k, data[k])
    for k, v in team.items():
        setattr(patient, k, v)
    _full_clean(patient)
    if "site" in team:
        _validate_site(patient.site, patient.program, actor)
    if team:
        _validate_caseload(site=patient.site, clinician=patient.clinician,
                           care_manager=patient.care_manager)
    if "mrn" in changed and _mrn_taken(patient.program, patient.mrn, exclude_pk=patient.pk):
        raise _duplicate_mrn(patient.mrn)
    if "consent_to_contact" in changed and patient.consent_to_contact:
        patient.consent_revoked_at = None
        changed.append("consent_revoked_at")
    if changed or team:
        patient.save(update_fields=[*changed, *team, "updated_at"])
        detail = {"fields": [*changed, *team]}
        if team:
            detail["care_team"] = {k: {"from": before[k], "to": getattr(team[k], "pk", None)}
                                   for k in team}
        audit_record(actor=actor, action="update", obj=patient, detail=detail)
    return patient


def caseload_count(user) -> int:
    """Patients for whom ``user`` is the responsible clinician or the care manager."""
    from django.db.models import Q

    return Patient.objects.filter(Q(clinician=user) | Q(care_manager=user)).count()


@transaction.atomic
def caseload_reassign(*, from_user, to_user, actor, clinician: bool = True,
                      care_manager: bool = True) -> dict:
    """Move a caseload in bulk: every patient whose responsible clinician (and/or care
    manager) is ``from_user`` gets ``to_user``, who must qualify for the role and work at
    each patient's site (400 naming `to_user` otherwise; nothing is changed). One audit row
    per patient. Returns {"clinician": n, "care_manager": m}."""
    from ipm.roles import CLINICIAN, COORDINATOR, has_role

    if to_user is None or to_user.pk == getattr(from_user, "pk", None):
        raise InvalidInput("Choose someone else to take the caseload.",
                           {"to_user": ["Choose another person."]})
    if not to_user.is_active:
        raise InvalidInput(f"{to_user.get_username()} is not active.",
                           {"to_user": ["This person is not active."]})
    moves = []
    if clinician:
        if not has_role(to_user, CLINICIAN) and Patient.objects.filter(clinician=from_user).exists():
            raise InvalidInput(f"{to_user.get_username()} is not a clinician.",
                               {"to_user": ["A responsible clinician must be a clinician."]})
        moves.append("clinician")
    if care_manager:
        if (not has_role(to_user, CLINICIAN, COORDINATOR)
                and Patient.objects.filter(care_manager=from_user).exists()):
            raise InvalidInput(f"{to_user.get_username()} cannot be a care manager.",
                               {"to_user": ["A care manager is a clinician or coordinator."]})
        moves.append("care_manager")
    their_sites = set(to_user.sites.values_list("pk", flat=True))
    moved = {}
    for field in moves:
        rows = list(Patient.objects.select_for_update().filter(**{field: from_user})
                    .only("pk", "site_id", field))
        elsewhere = [p.pk for p in rows if p.site_id not in their_sites]
        if elsewhere and not to_user.is_superuser:
            msg = (f"{len(elsewhere)} of these patients are at sites where "
                   f"{to_user.get_username()} does not work: add them to those sites first.")
            raise InvalidInput(msg, {"to_user": [msg]})
        Patient.objects.filter(pk__in=[p.pk for p in rows]).update(
            **{field: to_user}, updated_at=timezone.now())
        for p in rows:
            audit_record(actor=actor, action="update", obj=p, detail={
                "fields": [field], "care_team": {field: {"from": from_user.pk, "to": to_user.pk}},
                "via": "caseload_reassign"})
        moved[field] = len(rows)
    return {"clinician": moved.get("clinician", 0), "care_manager": moved.get("care_manager", 0)}


def parse_mme(value) -> Decimal | None:
    """Daily opioid dose in MME: a number ≥ 0, or blank/None for unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("MME must be a number.", {"mme": ["Enter a number of MME (0 or more), or leave it empty if unknown."]})
    try:
        mme = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput("MME must be a number.", {"mme": ["Enter a number of MME (0 or more), or leave it empty if unknown."]})
    if not mme.is_finite() or mme < 0 or mme > Decimal("100000"):
        raise InvalidInput("MME out of range.", {"mme": ["MME must be between 0 and 100000."]})
    return mme.quantize(Decimal("0.1"))


def validate_intake(*, red_flags, startback, baseline: dict, mme) -> dict:
    """All per-field errors of an intake at once (nothing is saved when any exist)."""
    errors: dict = {}
    rf = pathways.validate_red_flags(red_flags)
    if rf:
        errors["red_flags"] = rf
    sb = validate_answers("startback", startback if startback is not None else {})
    if sb:
        errors["startback"] = sb.get("answers", sb)
    for code, answers in baseline.items():
        if answers is None:
            continue
        problem = validate_answers(code, answers)
        if problem:
            errors[code] = problem.get("answers", problem)
    try:
        parse_mme(mme)
    except InvalidInput as exc:
        errors.update(exc.errors)
    return errors


@transaction.atomic
def intake_record(*, patient: Patient, red_flags, startback, baseline: dict | None = None,
                  mme=None, actor=None) -> Intake:
    """Record a whole intake in one transaction: red flags, STarT Back, baseline
    questionnaires, MME, the rules' suggestion, and the patient's current state.
    Raises InvalidInput with per-field errors (keyed by section) and saves nothing."""
    baseline = {k: v for k, v in (baseline or {}).items() if v is not None}
    unknown = [k for k in baseline if k not in BASELINE_INSTRUMENTS]
    errors = validate_intake(red_flags=red_flags, startback=startback, baseline=baseline, mme=mme)
    for k in unknown:
        errors[k] = [f"'{k}' is not a baseline instrument ({', '.join(BASELINE_INSTRUMENTS)})."]
    if errors:
        raise InvalidInput("The intake has invalid or missing answers.", errors)
    now = timezone.now()
    responses = responses_create_many(
        patient=patient, answers_by_instrument={"startback": startback, **baseline},
        actor=actor, context=QuestionnaireResponse.Context.INTAKE, answered_at=now)
    by_code = {r.instrument: r for r in responses}
    sb = by_code["startback"].scores
    suggestion = pathways.suggest(
        risk_group=sb["risk_group"], red_flags=red_flags,
        phq9_total=by_code["phq9"].scores["total"] if "phq9" in by_code else None,
        gad7_total=by_code["gad7"].scores["total"] if "gad7" in by_code else None,
    )
    mme_value = parse_mme(mme)
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
