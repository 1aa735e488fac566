"""One write path for Patient rows: the state other apps keep on the patient (PEG progress
flags, opioid dose, consent) is written by patients.services, under the row lock, with an
audit row naming the fields (issue 17: the tracking module used to save it unaudited)."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ipm.models import AuditEvent
from outcomes import services as outcomes_services
from patients.services import patient_consent_revoke, patient_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinician):
    patient = patient_create(actor=clinician, mrn="W-1", given_name="Wren", family_name="Lowe",
                             birth_date="1970-01-01", consent_to_contact=True)
    patient.intake_date = timezone.localdate() - timedelta(weeks=20)
    patient.save(update_fields=["intake_date"])
    return patient


def _updates(patient):
    return list(AuditEvent.objects.filter(patient_id=patient.pk, action="update",
                                          object_type="patients.patient")
                .values_list("detail", flat=True))


def at_week(patient, weeks):
    day = patient.intake_date + timedelta(weeks=weeks)
    return timezone.make_aware(datetime.combine(day, datetime.min.time().replace(hour=10)))


def test_a_peg_that_makes_the_patient_a_responder_is_audited_on_the_patient(patient):
    outcomes_services.response_create(patient=patient, instrument="peg",
                                      answers={"q1": 8, "q2": 8, "q3": 8},
                                      answered_at=at_week(patient, 0))
    assert _updates(patient) == []  # a baseline changes no flag
    outcomes_services.response_create(patient=patient, instrument="peg",
                                      answers={"q1": 4, "q2": 5, "q3": 5},
                                      answered_at=at_week(patient, 12))
    patient.refresh_from_db()
    assert patient.responder is True
    assert _updates(patient) == [{"fields": ["responder"], "source": "progress"}]


def test_a_medication_review_changes_the_patients_dose_with_an_audit_row(patient, clinician):
    outcomes_services.medication_review_create(patient=patient, actor=clinician, total_mme=60)
    patient.refresh_from_db()
    assert patient.current_mme == patient.baseline_mme == Decimal("60.0")
    assert _updates(patient) == [{"fields": ["current_mme", "baseline_mme"],
                                  "source": "medication_review"}]


def test_consent_is_revoked_once(patient):
    revoked, changed = patient_consent_revoke(patient_id=patient.pk, source="stop_link")
    assert changed and not revoked.consent_to_contact and revoked.consent_revoked_at
    assert patient_consent_revoke(patient_id=patient.pk, source="stop_link")[1] is False
    assert AuditEvent.objects.filter(action="consent.revoked", patient_id=patient.pk).count() == 1
