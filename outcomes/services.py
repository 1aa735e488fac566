"""Writes for outcomes. A response is validated whole before anything is saved; a PHQ-9
with item 9 above 0 opens its SafetyAlert in the same transaction (docs/product.md §3.4, the safety net §7)."""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ipm import roles
from ipm.audit import audit_record
from ipm.errors import Conflict, Gone, InvalidInput
from patients.services import patient_for_update, patient_mme_set
from reminders.services import reminder_schedule, reminders_cancel

from . import instruments, links, mme, schedule, tracking
from .models import (
    AlertAction,
    AlertEscalation,
    MedicationLine,
    MedicationReview,
    QuestionnaireLink,
    QuestionnaireResponse,
    SafetyAlert,
    ScheduleRule,
)
from .working_hours import add_working_hours, program_calendar

logger = logging.getLogger(__name__)

def _primary(code: str, scores: dict) -> Decimal | None:
    value = instruments.get(code).primary(scores)
    return None if value is None else Decimal(str(value))


def validate_answers(instrument: str, answers) -> dict:
    """Per-item errors for one instrument (empty when valid). Unknown instrument codes
    are reported under `instrument`."""
    if instrument not in instruments.CODES:
        return {"instrument": [f"Unknown instrument '{instrument}'. Use one of "
                               f"{', '.join(instruments.CODES)}."]}
    errors = instruments.validate(instrument, answers)
    return {"answers": errors} if errors else {}


def score_or_raise(instrument: str, answers):
    """Validate once and score (the engine's validator); InvalidInput with per-item errors."""
    try:
        return instruments.score_response(instrument, answers)
    except instruments.UnknownInstrument:
        raise InvalidInput("The response has invalid or missing answers.",
                           validate_answers(instrument, answers)) from None
    except instruments.InvalidAnswers as exc:
        raise InvalidInput("The response has invalid or missing answers.",
                           {"answers": exc.errors}) from None


def responses_score(answers_by_instrument: dict) -> dict:
    """Validate and score several instruments, each once: {code: ScoredResponse}.
    Raises InvalidInput with every error at once, keyed by instrument code, then item."""
    errors, scored = {}, {}
    for code, answers in answers_by_instrument.items():
        try:
            scored[code] = score_or_raise(code, answers)
        except InvalidInput as exc:
            errors[code] = exc.errors.get("answers", exc.errors.get("instrument"))
    if errors:
        raise InvalidInput("Some answers are invalid or missing.", errors)
    return scored


def _store(*, patient, instrument, scored, actor, context, answered_at) -> QuestionnaireResponse:
    response = QuestionnaireResponse.objects.create(
        patient=patient, instrument=instrument,
        instrument_version=instruments.get(instrument).version,
        answers=scored.answers_clean, scores=scored.scores,
        primary_score=_primary(instrument, scored.scores), context=context,
        answered_at=answered_at or timezone.now(),
        entered_by=actor if getattr(actor, "pk", None) else None,
    )
    response.alerts = []
    audit_record(actor=actor, action="create", obj=response)
    flag = instruments.get(instrument).safety_flag
    if flag and scored.scores.get(flag.score_key):
        response.alerts.append(_alert_open(patient=patient, response=response,
                                           kind=flag.alert_kind, actor=actor))
    if instrument == CSSRS_INSTRUMENT:
        cssrs_recorded(patient=patient, response=response)
    return response


@transaction.atomic
def response_create(*, patient, instrument: str, answers, actor=None,
                    context: str = QuestionnaireResponse.Context.CLINICIAN,
                    answered_at=None) -> QuestionnaireResponse:
    """Validate whole, score, store; open a safety alert when PHQ-9 item 9 > 0.
    Raises InvalidInput with per-item errors under `answers`; nothing is saved then."""
    scored = score_or_raise(instrument, answers)
    response = _store(patient=patient, instrument=instrument, scored=scored, actor=actor,
                      context=context, answered_at=answered_at)
    _after_response(patient, response)
    return response


@transaction.atomic
def responses_create_many(*, patient, answers_by_instrument: dict | None = None,
                          scored: dict | None = None, actor=None,
                          context: str = QuestionnaireResponse.Context.CLINICIAN,
                          answered_at=None) -> list[QuestionnaireResponse]:
    """Several instruments at once (intake, patient link): all valid and saved, or none.
    Errors are keyed by instrument code, then item key. A caller that has already checked the
    answers with `responses_score` (the intake, with its other sections) passes `scored`."""
    if scored is None:
        scored = responses_score(answers_by_instrument)
    out = [_store(patient=patient, instrument=code, scored=s, actor=actor, context=context,
                  answered_at=answered_at) for code, s in scored.items()]
    for response in out:
        _after_response(patient, response)
    return out


def _after_response(patient, response) -> None:
    """Follow-on state (responder / not_improving flags), kept in outcomes.tracking."""
    tracking.response_recorded(patient=patient, response=response)


# --- The default follow-up schedule -----------------------------------------------------

def default_schedule_ensure(sender=None, **kwargs) -> None:
    """post_migrate: put the default schedule rows (the ones data migration 0003 writes) back
    when none are left, after a test database flush or a fresh `flush`, without touching
    rows an administrator edited."""
    if ScheduleRule.objects.filter(program__isnull=True).exists():
        return
    ScheduleRule.objects.bulk_create([
        ScheduleRule(program=None, instrument=rule.instrument, weeks_after_intake=rule.weeks,
                     at_discharge=rule.at_discharge) for rule in schedule.DEFAULT_SCHEDULE])


# --- Patient questionnaire links ---------------------------------------------------------

LINK_REMINDER_OFFSETS = (("0d", 0), ("3d", 3), ("7d", 7))
MAX_LINK_DAYS = 90


def _clean_link_instruments(codes) -> list[str]:
    if not isinstance(codes, list | tuple) or not codes:
        raise InvalidInput("Choose at least one questionnaire.",
                           {"instruments": ["Give a non-empty list of instrument codes."]})
    unknown = [str(c) for c in codes if c not in instruments.CODES]
    if unknown:
        raise InvalidInput("Unknown questionnaire.", {"instruments": [
            f"Unknown instrument '{c}'. Use one of {', '.join(instruments.CODES)}."
            for c in unknown]})
    if len(set(codes)) != len(codes):
        raise InvalidInput("A questionnaire is listed twice.",
                           {"instruments": ["Each instrument may appear once."]})
    return list(codes)


@transaction.atomic
def questionnaire_link_create(*, patient, instruments: list[str], actor=None,
                              expires_in_days: int | None = None, now=None):
    """Create a single-use link for `instruments` and schedule its questionnaire-due
    reminders (now, +3 and +7 days, while the link is open). Returns (link, url)."""
    codes = _clean_link_instruments(instruments)
    days = settings.IPM_QUESTIONNAIRE_LINK_DAYS if expires_in_days is None else expires_in_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LINK_DAYS:
        raise InvalidInput("The link must last between 1 and 90 days.",
                           {"expires_in_days": [f"Give a whole number of days from 1 to {MAX_LINK_DAYS}."]})
    now = now or timezone.now()
    seed = links.new_seed()
    token = links.token_from_seed(seed)
    link = QuestionnaireLink.objects.create(
        patient=patient, instruments=codes, token_hash=links.token_hash(token), token_seed=seed,
        created_by=actor if getattr(actor, "pk", None) else None, created_at=now,
        expires_at=now + timedelta(days=days))
    channel = patient.preferred_channel
    if channel and channel != "none":
        for offset, after_days in LINK_REMINDER_OFFSETS:
            when = now + timedelta(days=after_days)
            if when < link.expires_at:
                reminder_schedule(kind="questionnaire_due", target_type="questionnaire_link",
                                  target_id=link.pk, patient=patient, channel=channel,
                                  offset=offset, scheduled_for=when)
    audit_record(actor=actor, action="create", obj=link, detail={"instruments": codes})
    return link, links.url_for_token(token)


@transaction.atomic
def questionnaire_link_submit(*, link, answers_by_instrument) -> list[QuestionnaireResponse]:
    """Save every instrument of the link in one transaction and mark the link used.

    The claim is a conditional UPDATE (`used_at IS NULL AND expires_at > now`): of two
    concurrent submissions the second waits on the row lock, then matches nothing and gets
    410, so nothing is ever saved twice. Bad answers raise InvalidInput (errors keyed by
    instrument, then item) and roll the claim back: the link stays usable.
    """
    if not isinstance(answers_by_instrument, dict):
        raise InvalidInput("Answers must be an object keyed by instrument code.",
                           {"answers": ["Give {instrument code: {item key: value}}."]})
    now = timezone.now()
    claimed = QuestionnaireLink.objects.filter(pk=link.pk, used_at__isnull=True,
                                               expires_at__gt=now).update(used_at=now)
    if not claimed:
        raise Gone("This questionnaire link has already been used or has expired.")
    extra = [code for code in answers_by_instrument if code not in link.instruments]
    if extra:
        raise InvalidInput("Some answers are for questionnaires not in this link.",
                           {str(code): {"non_field_errors": ["Not part of this questionnaire link."]}
                            for code in extra})
    ordered = {code: answers_by_instrument.get(code, {}) for code in link.instruments}
    responses = responses_create_many(patient=link.patient, answers_by_instrument=ordered,
                                      context=QuestionnaireResponse.Context.PATIENT_LINK,
                                      answered_at=now)
    link.used_at = now
    reminders_cancel(target_type="questionnaire_link", target_id=link.pk)
    audit_record(action="update", obj=link, detail={"used": True,
                                                    "responses": [r.pk for r in responses]})
    return responses


# --- Safety alerts (docs/product.md §7) ----------------------------------------------------

CSSRS_INSTRUMENT = "cssrs_screen"


class NoOneToAssign(ImproperlyConfigured):
    """No person at all can take a safety alert: no clinician, lead, deputy or active
    clinician anywhere in the program (the readiness page shows this as an error)."""


def _active_clinician(user) -> bool:
    return user is not None and user.is_active and roles.has_role(user, roles.CLINICIAN)


def _active(user) -> bool:
    return user is not None and user.is_active


def _fewest_open_alerts(users):
    """The person with the fewest open alerts assigned (ties: the longest-standing account)."""
    return (users.filter(is_active=True, groups__name=roles.CLINICIAN).distinct()
            .annotate(n_open=Count("assigned_alerts",
                                   filter=Q(assigned_alerts__status=SafetyAlert.Status.OPEN)))
            .order_by("n_open", "pk").first())


def alert_assignee(patient, actor=None):
    """Who takes a new alert (docs/product.md §7): the patient's clinician, else the care
    manager if a clinician, else the clinical lead, else the deputy, else the active clinician
    of the patient's site with the fewest open alerts. Beyond the rule, so that no alert is
    ever left with nobody: an active clinician of any of the program's sites, then the staff
    member who entered the response, then an active superuser; failing all, NoOneToAssign
    (the readiness page names the cause)."""
    program = patient.program
    for person in (patient.clinician, patient.care_manager):
        if _active_clinician(person):
            return person
    for person in (program.clinical_lead, program.deputy_lead):
        if _active(person):
            return person
    User = get_user_model()
    person = (_fewest_open_alerts(User.objects.filter(sites=patient.site_id))
              or _fewest_open_alerts(User.objects.filter(sites__program=program)))
    if person is None and _active(actor) and getattr(actor, "pk", None):
        person = actor
    if person is None:
        person = User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    if person is None:
        logger.critical("Safety alert for patient %s: no one to assign it to", patient.pk)
        raise NoOneToAssign("No clinician, clinical lead or deputy can take this safety alert.")
    return person


def _alert_open(*, patient, response, kind, actor) -> SafetyAlert:
    alert = SafetyAlert.objects.create(patient=patient, response=response, kind=kind,
                                       assigned_to=alert_assignee(patient, actor))
    # The notification rows are written in the alert's own transaction: both exist or
    # neither; reminders' dispatch sends them.
    alert_notify(alert=alert)
    audit_record(actor=actor, action="create", obj=alert,
                 detail={"assigned_to": alert.assigned_to_id})
    return alert


def _notify(*, alert, kind: str, person, offset: str, when) -> list:
    """An email and an SMS to `person` about `alert` (the SMS is dropped at send time with
    `no_address` when the person has no phone: visible in the outbox)."""
    # The rows name the patient (staff messages still: they go to `person`), so the outbox
    # lists them only to staff of the patient's site (patients.scoping).
    return [reminder_schedule(kind=kind, target_type="safety_alert", target_id=alert.pk,
                              patient=alert.patient, recipient_user=person, channel=channel,
                              offset=offset if channel == "email" else f"{offset}-sms",
                              scheduled_for=when)
            for channel in ("email", "sms")]


def alert_notify(*, alert):
    """Schedule the email and the SMS to the alert's assigned person in the outbox, in the
    caller's transaction. Idempotent: the outbox key is unique per alert, recipient and
    channel."""
    return _notify(alert=alert, kind="safety_alert", person=alert.assigned_to, offset="0",
                   when=timezone.now())


def _alert_for_update(alert) -> SafetyAlert:
    return SafetyAlert.objects.select_for_update().select_related("patient").get(pk=alert.pk)


def _clean_action(action) -> str:
    if action in (None, ""):
        return SafetyAlert.Action.OTHER
    if action not in SafetyAlert.Action.values:
        raise InvalidInput("Unknown action.", {"action": [
            f"Use one of {', '.join(SafetyAlert.Action.values)}."]})
    return action


@transaction.atomic
def alert_acknowledge(*, alert, actor, note: str, action: str | None = None, now=None):
    """Record what was done about an open alert (docs/product.md §7): `action` one of
    SafetyAlert.Action (default `other`) and a note. `no_answer` keeps the alert open and
    schedules a retry (`retry_at`, on the worklist); any other action acknowledges it and
    cancels its pending notifications. An acknowledged alert gets 409; nothing is saved on
    a 400 (unknown action, empty note)."""
    action = _clean_action(action)
    note = (note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise InvalidInput("Say what was done: an action note is required.",
                           {"note": ["This field is required."]})
    now = now or timezone.now()
    alert = _alert_for_update(alert)
    if alert.status != SafetyAlert.Status.OPEN:
        raise Conflict("This alert has already been acknowledged.",
                       {"status": ["The alert is not open."]})
    AlertAction.objects.create(alert=alert, action=action, note=note, by=actor, at=now)
    if action == SafetyAlert.Action.NO_ANSWER:
        alert.retry_at = now + timedelta(minutes=settings.IPM_ALERT_RETRY_MINUTES)
        alert.save(update_fields=["retry_at"])
        audit_record(actor=actor, action="update", obj=alert,
                     detail={"action": action, "retry_at": alert.retry_at.isoformat()})
        return alert
    alert.status = SafetyAlert.Status.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.action, alert.action_note, alert.retry_at = action, note, None
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "action",
                              "action_note", "retry_at"])
    # The notifications and any escalation still in the outbox are moot now.
    reminders_cancel(target_type="safety_alert", target_id=alert.pk)
    audit_record(actor=actor, action="update", obj=alert,
                 detail={"status": SafetyAlert.Status.ACKNOWLEDGED, "action": action})
    return alert


def escalation_steps(alert, program) -> list[tuple[int, object]]:
    """The escalation ladder still ahead of `alert`: (level, person) for the clinical lead
    (1) then the deputy (2), skipping a rung that is empty, inactive, the assigned person or
    someone already reached."""
    reached = {alert.assigned_to_id, alert.escalated_to_id}
    out = []
    for level, person in ((1, program.clinical_lead), (2, program.deputy_lead)):
        if level <= alert.escalation_level or not _active(person) or person.pk in reached:
            continue
        reached.add(person.pk)
        out.append((level, person))
    return out


def alert_escalation_due_at(alert, program):
    """When the next escalation step of an open alert falls due: the program's
    `escalation_hours` after the alert opened (or after the previous step), on its working
    calendar (hours per weekday, public holidays, time zone), or clock hours in `24_7` mode.
    None when no step remains."""
    if not escalation_steps(alert, program):
        return None
    return add_working_hours(alert.escalated_at or alert.opened_at, program.escalation_hours,
                             program_calendar(program))


@transaction.atomic
def alert_escalate(*, alert, now=None) -> bool:
    """Take the next escalation step of an open alert when it is due at `now`: record it (an
    AlertEscalation row with its time), move the alert's escalation level and notify the
    person by email and SMS. The conditional UPDATE on the current level is the claim, so
    overlapping sweeps take each step once. Returns whether a step was taken."""
    now = now or timezone.now()
    program = alert.patient.program
    steps = escalation_steps(alert, program)
    if not steps:
        return False
    due = alert_escalation_due_at(alert, program)
    if due is None or now < due:
        return False
    level, person = steps[0]
    claimed = SafetyAlert.objects.filter(
        pk=alert.pk, status=SafetyAlert.Status.OPEN, escalation_level=alert.escalation_level,
    ).update(escalation_level=level, escalated_at=now, escalated_to=person)
    if not claimed:
        return False
    AlertEscalation.objects.create(alert=alert, level=level, to=person, at=now)
    alert.escalation_level, alert.escalated_at, alert.escalated_to = level, now, person
    _notify(alert=alert, kind="alert_escalation", person=person, offset=f"L{level}", when=now)
    audit_record(action="update", obj=alert, detail={"escalated_to": person.pk, "level": level})
    return True


def cssrs_recorded(*, patient, response) -> int:
    """A C-SSRS screen sets the risk level of the patient's open alerts. Returns how many."""
    risk = (response.scores or {}).get("risk_level", "")
    if risk not in SafetyAlert.Risk.values:
        return 0
    alerts = list(SafetyAlert.objects.select_for_update()
                  .filter(patient_id=patient.pk, status=SafetyAlert.Status.OPEN))
    for alert in alerts:
        alert.cssrs_risk = risk
        alert.save(update_fields=["cssrs_risk"])
        audit_record(action="update", obj=alert, detail={"cssrs_risk": risk,
                                                         "response": response.pk})
    return len(alerts)


# --- Medication reviews (opioid dose) ------------------------------------------------------

@transaction.atomic
def medication_review_create(*, patient, lines=(), total_mme=None, note: str = "", actor=None,
                             reviewed_at=None):
    """Record an opioid review: itemised lines (daily MME per line, CDC 2022 factors) or a
    total MME entered directly. Updates patient.current_mme when this is the latest review,
    and patient.baseline_mme when it has none."""
    lines = list(lines or [])
    if lines and total_mme not in (None, ""):
        raise InvalidInput("Enter the opioids or a total MME, not both.",
                           {"total_mme": ["Leave empty when the opioids are listed."]})
    if not lines and total_mme in (None, ""):
        raise InvalidInput("List the opioids, or enter a total MME (0 for none).",
                           {"total_mme": ["Enter a total MME, or list the opioids."]})
    rows, errors = [], {}
    for index, line in enumerate(lines):
        problems = {}
        drug = line.get("drug")
        if drug not in mme.OPIOIDS:
            problems["drug"] = [f"Choose one of {', '.join(mme.OPIOIDS)}."]
        try:
            dose = mme.parse_amount(line.get("dose"), what="The dose")
        except mme.InvalidAmount as exc:
            problems["dose"] = [str(exc)]
        try:
            per_day = mme.parse_amount(line.get("doses_per_day", 1), what="Doses a day")
        except mme.InvalidAmount as exc:
            problems["doses_per_day"] = [str(exc)]
        route = line.get("route") or ""
        if route and route not in MedicationLine.Route.values:
            problems["route"] = [f"Choose one of {', '.join(MedicationLine.Route.values)}."]
        if problems:
            errors[str(index)] = problems
            continue
        opioid = mme.OPIOIDS[drug]
        rows.append(MedicationLine(
            drug=drug, dose=dose, unit=opioid.unit, doses_per_day=per_day,
            route=route or ("transdermal" if opioid.unit == mme.MCG_PER_HOUR else "oral"),
            daily_mme=mme.daily_mme(drug, dose, per_day)))
    if errors:
        raise InvalidInput("Some opioid lines are invalid.", {"lines": errors})
    if lines:
        total = mme.total_mme((row.drug, row.dose, row.doses_per_day) for row in rows)
    else:
        try:
            total = mme.parse_mme(total_mme)
        except mme.InvalidAmount as exc:
            raise InvalidInput("The total MME must be a number of 0 or more.",
                               {"total_mme": [str(exc)]}) from None
        if total is None:  # blank after all (spaces)
            raise InvalidInput("List the opioids, or enter a total MME (0 for none).",
                               {"total_mme": ["Enter a total MME, or list the opioids."]})
    reviewed_at = reviewed_at or timezone.now()
    review = MedicationReview.objects.create(
        patient=patient, reviewed_at=reviewed_at, total_mme=total,
        total_entered_directly=not lines, reviewed_by=actor if getattr(actor, "pk", None) else None,
        note=note or "")
    for row in rows:
        row.review = review
    MedicationLine.objects.bulk_create(rows)
    # Serialise concurrent reviews of one patient while its current dose is decided.
    patient_for_update(patient.pk)
    latest = MedicationReview.objects.filter(patient_id=patient.pk).order_by(
        "-reviewed_at", "-pk").values_list("pk", flat=True).first()
    patient_mme_set(patient=patient, mme=total, current=latest == review.pk, actor=actor,
                    source="medication_review")
    audit_record(actor=actor, action="create", obj=review,
                 detail={"total_mme": str(total), "lines": len(rows)})
    return review
