"""Writes for outcomes. A response is validated whole before anything is saved; a PHQ-9
with item 9 above 0 opens its SafetyAlert in the same transaction (SPEC §3.4)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ipm.audit import audit_record
from ipm.errors import InvalidInput

from . import instruments
from .models import QuestionnaireResponse, SafetyAlert

PRIMARY_KEY = {"startback": "total", "peg": "score", "phq9": "total", "gad7": "total",
               "nps": "score", "promis29": "pain_interference.t_score",
               "promis_gh": "gph.t_score"}


def _primary(code: str, scores: dict) -> Decimal | None:
    value = instruments.headline(code, scores).get(PRIMARY_KEY.get(code, ""))
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
    errors = validate_answers(instrument, answers)
    if errors:
        raise InvalidInput("The response has invalid or missing answers.", errors)
    return instruments.score_response(instrument, answers)


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
    if instrument == "phq9" and scored.scores.get("item9_positive"):
        alert = SafetyAlert.objects.create(patient=patient, response=response,
                                           kind=SafetyAlert.Kind.PHQ9_ITEM9)
        response.alerts.append(alert)
        transaction.on_commit(lambda: _notify_alert(alert.pk))  # parked if the broker is down
    audit_record(actor=actor, action="create", obj=response)
    return response


def _notify_alert(alert_id: int) -> None:
    """Queue the clinician's notification (reminders outbox) once the alert is committed."""
    try:
        from .tasks import notify_safety_alert
    except ImportError:  # pragma: no cover - tasks module absent in a partial install
        return
    from ipm.queue import enqueue

    enqueue(notify_safety_alert, alert_id)


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
def responses_create_many(*, patient, answers_by_instrument: dict, actor=None,
                          context: str = QuestionnaireResponse.Context.CLINICIAN,
                          answered_at=None) -> list[QuestionnaireResponse]:
    """Several instruments at once (intake, patient link): all valid and saved, or none.
    Errors are keyed by instrument code, then item key."""
    errors, scored = {}, {}
    for code, answers in answers_by_instrument.items():
        problem = validate_answers(code, answers)
        if problem:
            errors[code] = problem.get("answers", problem.get("instrument"))
        else:
            scored[code] = instruments.score_response(code, answers)
    if errors:
        raise InvalidInput("Some answers are invalid or missing.", errors)
    out = [_store(patient=patient, instrument=code, scored=s, actor=actor, context=context,
                  answered_at=answered_at) for code, s in scored.items()]
    for response in out:
        _after_response(patient, response)
    return out


def _after_response(patient, response) -> None:
    """Hook for follow-on state (responder / not_improving flags, reminders). Kept in
    outcomes.tracking so this module stays the single write path."""
    try:
        from .tracking import response_recorded
    except ImportError:
        return
    response_recorded(patient=patient, response=response)
