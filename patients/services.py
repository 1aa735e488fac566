"""Every write to patients: create, update, intake, pathway decisions, and the state other
apps keep on the patient (progress flags, opioid dose, consent) through small services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import Conflict, InvalidInput
from ipm.roles import CLINICIAN, has_role

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


@transaction.atomic
def patient_create(*, actor=None, program: Program | None = None, clinician=None,
                   site: Site | None = None, care_manager=None, **data) -> Patient:
    program = program or Program.default()
    site = site or site_for_new_record(program=program, actor=actor)
    data.setdefault("timezone", program.time_zone)
    patient = Patient(program=program, site=site, care_manager=care_manager,
                      **{k: v for k, v in data.items() if k in PATIENT_FIELDS})
    if clinician is None and getattr(actor, "pk", None):
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
