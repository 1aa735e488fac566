"""Every write of the care app: step decisions, contacts, goals, PSFS links.

Each service validates the whole input first (per-field errors, nothing saved), writes in one
transaction and records the audit row."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ipm.audit import audit_record
from ipm.errors import InvalidInput
from outcomes.services import questionnaire_link_create
from patients.models import Patient
from patients.services import patient_step_set

from .models import PSFS_ITEMS, STEPS, Contact, Goal, StepDecision

PSFS = "psfs"
MAX_MINUTES = 600


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _raise(errors: dict, message: str | None = None):
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(message or first, errors)


def _int(value, field: str, errors: dict, *, lo: int, hi: int, what: str):
    """A whole number in [lo, hi] given as an int or a string of digits; else a field error."""
    msg = f"{what} must be a whole number from {lo} to {hi}."
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not lo <= number <= hi:
        errors[field] = [msg]
        return None
    return number


def _date(value, field: str, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    try:
        parsed = parse_date(str(value))
    except ValueError:
        parsed = None
    if parsed is None:
        errors[field] = ["Give a date as YYYY-MM-DD."]
    return parsed


# --- Step decisions ------------------------------------------------------------------------

@transaction.atomic
def step_decide(*, patient: Patient, step, reason: str, actor=None,
                mdt_meeting=None) -> StepDecision:
    """Record a care-step decision with its reason: up, down, or "stay" when the step is the
    one the patient is on. The patient's step is set through patients' one write path."""
    errors: dict = {}
    number = _int(step, "step", errors, lo=1, hi=3, what="The care step")
    if number is not None and number not in STEPS:
        errors["step"] = ["The care step is 1, 2 or 3."]
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        errors["reason"] = ["Give the reason for the decision."]
    _raise(errors)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    before = locked.step
    direction = (StepDecision.Direction.UP if number > before
                 else StepDecision.Direction.DOWN if number < before
                 else StepDecision.Direction.STAY)
    patient_step_set(patient=locked, step=number, actor=actor)
    decision = StepDecision.objects.create(
        patient=locked, from_step=before, to_step=number, direction=direction, reason=reason,
        mdt_meeting=mdt_meeting, decided_by=_user(actor))
    audit_record(actor=actor, action=f"care.step_{direction}", obj=decision,
                 patient_id=locked.pk,
                 detail={"from": before, "to": number,
                         "mdt_meeting": getattr(mdt_meeting, "pk", None)})
    patient.step = locked.step
    return decision


# --- Contacts ------------------------------------------------------------------------------

@transaction.atomic
def contact_create(*, patient: Patient, kind, minutes, outcome, note: str = "",
                   next_contact_on=None, contacted_at=None, actor=None) -> Contact:
    """Record one care-manager contact. `next_contact_on` (today or later) puts the patient
    on the worklist that day."""
    errors: dict = {}
    if kind not in Contact.Kind.values:
        errors["kind"] = [f"Use one of {', '.join(Contact.Kind.values)}."]
    if outcome not in Contact.Outcome.values:
        errors["outcome"] = [f"Use one of {', '.join(Contact.Outcome.values)}."]
    number = _int(minutes, "minutes", errors, lo=0, hi=MAX_MINUTES, what="Minutes")
    if note is None:
        note = ""
    if not isinstance(note, str):
        errors["note"] = ["The note must be text."]
    next_on = _date(next_contact_on, "next_contact_on", errors)
    today = timezone.localdate()
    if next_on is not None and next_on < today:
        errors["next_contact_on"] = ["The next contact cannot be in the past."]
    when = timezone.now()
    if contacted_at not in (None, ""):
        parsed = contacted_at if isinstance(contacted_at, dt.datetime) else (
            parse_datetime(str(contacted_at)) if "T" in str(contacted_at) or " " in str(contacted_at)
            else None)
        if parsed is None:
            errors["contacted_at"] = ["Give the time as an ISO 8601 date-time."]
        else:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            if parsed > when + dt.timedelta(minutes=5):
                errors["contacted_at"] = ["The contact cannot be in the future."]
            when = parsed
    _raise(errors)
    contact = Contact.objects.create(
        patient=patient, kind=kind, minutes=number, outcome=outcome, note=note.strip(),
        next_contact_on=next_on, contacted_at=when, recorded_by=_user(actor))
    audit_record(actor=actor, action="create", obj=contact,
                 detail={"kind": kind, "minutes": number, "outcome": outcome})
    return contact


# --- Care plan -----------------------------------------------------------------------------

def _free_psfs_item(patient: Patient, *, exclude_pk=None) -> str | None:
    taken = set(Goal.objects.filter(patient=patient).exclude(psfs_item="")
                .exclude(status=Goal.Status.DROPPED).exclude(pk=exclude_pk)
                .values_list("psfs_item", flat=True))
    return next((item for item in PSFS_ITEMS if item not in taken), None)


def _goal_fields(data: dict, errors: dict, *, partial: bool) -> dict:
    out = {}
    if "text" in data or not partial:
        text = data.get("text")
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            errors["text"] = ["Write the goal in the patient's words."]
        out["text"] = text
    if "activity" in data:
        activity = data.get("activity") or ""
        if not isinstance(activity, str):
            errors["activity"] = ["The activity must be text."]
            activity = ""
        activity = activity.strip()
        if len(activity) > 80:
            errors["activity"] = ["Keep the activity under 80 characters."]
        out["activity"] = activity
    if "target_date" in data:
        out["target_date"] = _date(data.get("target_date"), "target_date", errors)
    if "status" in data:
        if data["status"] not in Goal.Status.values:
            errors["status"] = [f"Use one of {', '.join(Goal.Status.values)}."]
        out["status"] = data["status"]
    return out


@transaction.atomic
def goal_create(*, patient: Patient, text, activity: str = "", target_date=None,
                actor=None) -> Goal:
    """A goal in the patient's words. With an `activity` it takes the next free PSFS item
    (a1..a5): the PSFS rates up to five activities."""
    errors: dict = {}
    fields = _goal_fields({"text": text, "activity": activity, "target_date": target_date},
                          errors, partial=False)
    _raise(errors)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)  # serialise item choice
    item = ""
    if fields["activity"]:
        item = _free_psfs_item(locked)
        if item is None:
            msg = "The PSFS rates at most five activities: drop one before adding another."
            raise InvalidInput(msg, {"activity": [msg]})
    goal = Goal.objects.create(patient=locked, psfs_item=item, created_by=_user(actor), **fields)
    audit_record(actor=actor, action="create", obj=goal, patient_id=locked.pk,
                 detail={"psfs_item": item})
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, actor=None, **data) -> Goal:
    """Change a goal's words, activity, target date or status. Dropping a goal frees its
    PSFS item; giving an activity to a goal without one takes the next free item."""
    errors: dict = {}
    fields = _goal_fields(data, errors, partial=True)
    _raise(errors)
    Patient.objects.select_for_update().filter(pk=goal.patient_id).first()
    goal = Goal.objects.select_for_update().get(pk=goal.pk)
    changed = [k for k, v in fields.items() if getattr(goal, k) != v]
    for k in changed:
        setattr(goal, k, fields[k])
    if goal.activity and goal.status != Goal.Status.DROPPED and not goal.psfs_item:
        item = _free_psfs_item(goal.patient, exclude_pk=goal.pk)
        if item is None:
            msg = "The PSFS rates at most five activities: drop one before adding another."
            raise InvalidInput(msg, {"activity": [msg]})
        goal.psfs_item = item
        changed.append("psfs_item")
    if not goal.activity and goal.psfs_item:
        goal.psfs_item = ""
        changed.append("psfs_item")
    if goal.status != Goal.Status.DROPPED and goal.psfs_item and "status" in changed:
        # Taken back up after being dropped: its old item may have gone to another goal.
        clash = (Goal.objects.filter(patient_id=goal.patient_id, psfs_item=goal.psfs_item)
                 .exclude(pk=goal.pk).exclude(status=Goal.Status.DROPPED).exists())
        if clash:
            item = _free_psfs_item(goal.patient, exclude_pk=goal.pk)
            if item is None:
                msg = "The PSFS rates at most five activities: drop one before adding another."
                raise InvalidInput(msg, {"status": [msg]})
            goal.psfs_item = item
            changed.append("psfs_item")
    if changed:
        try:
            with transaction.atomic():
                goal.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
        except IntegrityError:
            msg = "Another goal already uses that PSFS activity slot."
            raise InvalidInput(msg, {"activity": [msg]})
        audit_record(actor=actor, action="update", obj=goal, patient_id=goal.patient_id,
                     detail={"fields": list(dict.fromkeys(changed))})
    return goal


def psfs_activities(patient: Patient) -> dict[str, str]:
    """{PSFS item: the patient's activity} for the goals the PSFS rates (kept goals)."""
    return dict(Goal.objects.filter(patient=patient).exclude(psfs_item="")
                .exclude(status=Goal.Status.DROPPED).order_by("psfs_item")
                .values_list("psfs_item", "activity"))


def psfs_link_send(*, patient: Patient, actor=None):
    """Send the PSFS by link, like any instrument: the link page asks about the patient's own
    activities. Needs the first activity (a1): the PSFS requires it."""
    activities = psfs_activities(patient)
    if "a1" not in activities:
        msg = ("Add a goal with the activity the patient wants to get back to before sending "
               "the PSFS: it rates the patient's own activities.")
        raise InvalidInput(msg, {"activities": [msg]})
    return questionnaire_link_create(patient=patient, instruments=[PSFS], actor=actor)


def psfs_item_labels(patient: Patient) -> dict[str, str | None]:
    """outcomes.item_labels provider for the PSFS: each item worded as the patient's own
    activity; items without one are not asked."""
    activities = psfs_activities(patient)
    if not activities:  # no care plan yet (e.g. a paper PSFS): the generic items
        return {}
    return {item: activities.get(item) for item in PSFS_ITEMS}
