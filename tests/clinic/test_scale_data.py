"""The scale generator (benchmarks): every patient's questionnaires come from one latent
severity, so a patient's PHQ-9, GAD-7 and PEG tell the same story."""

import io
from collections import defaultdict

import pytest

from clinic.scale_data import generate
from outcomes.models import QuestionnaireResponse

pytestmark = pytest.mark.django_db(transaction=True)  # it ends with VACUUM ANALYZE


def test_it_draws_each_patients_answers_from_one_severity():
    generate(patients=60, out=io.StringIO())
    by_patient = defaultdict(dict)
    for r in QuestionnaireResponse.objects.filter(context="intake"):
        by_patient[r.patient_id][r.instrument] = float(r.primary_score)
    assert len(by_patient) == 60
    for scores in by_patient.values():
        phq9, gad7, peg = scores["phq9"] / 27, scores["gad7"] / 21, scores["peg"] / 10
        assert max(phq9, gad7, peg) - min(phq9, gad7, peg) < 0.35, scores
