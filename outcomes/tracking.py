"""Follow-on state kept up to date as responses arrive (called by outcomes.services inside the
response's transaction): the patient's `responder` and `not_improving` flags (rules in
outcomes.progress), stored through patients.services."""

from django.utils import timezone

from patients.services import patient_progress_flags_set

from .models import QuestionnaireResponse
from .progress import peg_flags


def _local_date(moment):
    return timezone.localdate(moment)


def response_recorded(*, patient, response) -> None:
    """Recompute the PEG-based flags when a PEG response is recorded, and store them
    (patients.services saves and audits only the fields that changed)."""
    if response.instrument != "peg":
        return
    pegs = QuestionnaireResponse.objects.filter(patient_id=patient.pk, instrument="peg").only(
        "pk", "answered_at", "scores")
    baseline = pegs.order_by("answered_at", "pk").first()
    latest = pegs.order_by("-answered_at", "-pk").first()
    if baseline is None:
        return
    flags = peg_flags(
        intake_date=patient.intake_date,
        baseline=(_local_date(baseline.answered_at), baseline.scores),
        latest=None if latest.pk == baseline.pk else (_local_date(latest.answered_at),
                                                      latest.scores),
    )
    patient_progress_flags_set(patient=patient, responder=flags.responder,
                               not_improving=flags.not_improving)
