"""Every write to patients: create, update, intake, pathway decisions, and the state other
apps keep on the patient (progress flags, opioid dose, consent) through small services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput
from ipm.roles import CLINICIAN, COORDINATOR, STAFF_ROLES, has_role

from . import pathways
from .models import Intake, Pathway, PathwayDecision, Patient, Program, Site

PATIENT_FIELDS = ("mrn", "given_name", "family_name", "birth_date", "sex", "email", "phone",
                  "preferred_channel", "consent_to_contact", "timezone")


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


def site_validate(site: Site, program: Program, actor) -> None:
    """A site chosen for a new or moved record must be the program's and one the person
    works at (a superuser works everywhere; no actor means a task or demo data): 400 naming
    ``site`` otherwise. Patients and group series check their chosen site here."""
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
    program = program or Program.default()
    site = site or site_for_new_record(program=program, actor=actor)
    site_validate(site, program, actor)
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
        site_validate(patient.site, patient.program, actor)
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
    return Patient.objects.filter(Q(clinician=user) | Q(care_manager=user)).count()


@transaction.atomic
def caseload_reassign(*, from_user, to_user, actor, clinician: bool = True,
                      care_manager: bool = True) -> dict:
    """Move a caseload in bulk: every patient whose responsible clinician (and/or care
    manager) is ``from_user`` gets ``to_user``, who must qualify for the role and work at
    each patient's site (400 naming `to_user` otherwise; nothing is changed). One audit row
    per patient. Returns {"clinician": n, "care_manager": m}."""
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


def patient_for_update(patient_id: int) -> Patient:
    """The patient's row, locked until the caller's transaction ends (serialises writes
    that read before they decide, e.g. concurrent medication reviews)."""
    return (Patient.objects.select_for_update(of=("self",)).select_related("program")
            .get(pk=patient_id))


@transaction.atomic
def patient_progress_flags_set(*, patient: Patient, responder: bool,
                               not_improving: bool) -> list[str]:
    """Store the PEG-based `responder` / `not_improving` flags (rules: outcomes.progress).
    Saves and audits only what changed; returns the changed field names."""
    locked = patient_for_update(patient.pk)
    wanted = {"responder": bool(responder), "not_improving": bool(not_improving)}
    changed = [name for name, value in wanted.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, wanted[name])
        setattr(patient, name, wanted[name])
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
        audit_record(action="update", obj=locked,
                     detail={"fields": changed, "source": "progress"})
    return changed


@transaction.atomic
def patient_mme_set(*, patient: Patient, mme: Decimal, current: bool = True,
                    actor=None, source: str = "") -> list[str]:
    """Record an opioid dose on the patient: as the current dose when `current`, and as the
    baseline when the patient has none. Callers that decide `current` from other rows take
    `patient_for_update` first. Returns the changed field names."""
    locked = patient_for_update(patient.pk)
    changed = []
    if current and locked.current_mme != mme:
        locked.current_mme = patient.current_mme = mme
        changed.append("current_mme")
    if locked.baseline_mme is None:
        locked.baseline_mme = patient.baseline_mme = mme
        changed.append("baseline_mme")
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action="update", obj=locked,
                     detail={"fields": changed, "source": source})
    return changed


@transaction.atomic
def patient_consent_revoke(*, patient_id: int, source: str) -> tuple[Patient, bool]:
    """The patient withdrew consent to contact (the stop link). Returns (patient, changed);
    idempotent: `changed` is False when consent was already revoked."""
    patient = patient_for_update(patient_id)
    if not patient.consent_to_contact and patient.consent_revoked_at is not None:
        return patient, False
    patient.consent_to_contact = False
    patient.consent_revoked_at = timezone.now()
    patient.save(update_fields=["consent_to_contact", "consent_revoked_at", "updated_at"])
    audit_record(actor=None, action="consent.revoked", obj=patient, detail={"source": source})
    return patient, True


@transaction.atomic
def intake_clinician_ensure(*, patient: Patient, actor) -> bool:
    """The clinician doing an intake becomes the responsible clinician of a patient who has
    none (a patient registered by a referral or an integration), when they work at the
    patient's site (docs/product.md §6). Audited; returns whether it changed."""
    if (patient.clinician_id is not None or not getattr(actor, "pk", None)
            or not actor.is_active or not has_role(actor, CLINICIAN)
            or not Site.staff.through.objects.filter(site_id=patient.site_id,
                                                     user_id=actor.pk).exists()):
        return False
    locked = patient_for_update(patient.pk)
    if locked.clinician_id is not None:
        return False
    locked.clinician = actor
    locked.save(update_fields=["clinician", "updated_at"])
    patient.clinician = actor
    audit_record(actor=actor, action="update", obj=locked,
                 detail={"clinician": actor.pk, "source": "intake"})
    return True


@transaction.atomic
def intake_create(*, patient: Patient, red_flags: dict, startback: dict,
                  phq9_total: int | None = None, gad7_total: int | None = None,
                  mme: Decimal | None = None, actor=None, at=None) -> Intake:
    """Store an intake whose questionnaires are already scored (`startback`: the STarT Back
    scores): the red flags, the pathway rules' suggestion (pathways.suggest), the MME, and
    the patient's new current state (risk group, suggested pathway, red flag, intake date,
    current and baseline MME). The caller validated the answers (clinic.services)."""
    at = at or timezone.now()
    suggestion = pathways.suggest(risk_group=startback["risk_group"], red_flags=red_flags,
                                  phq9_total=phq9_total, gad7_total=gad7_total)
    intake = Intake.objects.create(
        patient=patient, red_flags={k: bool(red_flags[k]) for k in pathways.RED_FLAG_KEYS},
        startback_total=startback["total"], startback_psychosocial=startback["psychosocial"],
        risk_group=startback["risk_group"], suggested_pathway=suggestion.pathway,
        suggested_referrals=[r.__dict__ for r in suggestion.referrals], mme=mme,
        created_by=actor if getattr(actor, "pk", None) else None, created_at=at,
    )
    locked = patient_for_update(patient.pk)
    locked.risk_group = startback["risk_group"]
    locked.pathway = suggestion.pathway  # suggested until a clinician confirms or overrides
    locked.red_flag = bool(suggestion.red_flags_present)
    fields = ["risk_group", "pathway", "red_flag"]
    if locked.intake_date is None:
        locked.intake_date = timezone.localdate(at)
        fields.append("intake_date")
    if mme is not None:
        locked.current_mme = mme
        fields.append("current_mme")
        if locked.baseline_mme is None:
            locked.baseline_mme = mme
            fields.append("baseline_mme")
    locked.save(update_fields=[*fields, "updated_at"])
    for name in fields:
        setattr(patient, name, getattr(locked, name))
    audit_record(actor=actor, action="create", obj=intake)
    return intake


@transaction.atomic
def pathway_decide(*, patient: Patient, pathway: str, actor=None, reason: str = "",
                   intake: Intake | None = None) -> PathwayDecision:
    """Confirm the suggested pathway, or override it with a reason (docs/product.md §3.1)."""
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
