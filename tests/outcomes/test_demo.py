import pytest
from django.core.management import call_command

from outcomes.models import MedicationReview, QuestionnaireLink, QuestionnaireResponse, SafetyAlert
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_it_loads_a_year_of_outcomes_for_the_demo_program(capsys):
    call_command("demo_data")
    follow_ups = QuestionnaireResponse.objects.filter(context="follow_up")
    assert follow_ups.filter(instrument="peg").count() >= 10
    assert set(follow_ups.values_list("instrument", flat=True)) >= {"peg", "phq9", "gad7",
                                                                   "promis29", "nps"}
    assert SafetyAlert.objects.filter(status="open").count() == 1
    assert MedicationReview.objects.exists()
    assert Patient.objects.filter(responder=True).exists()
    assert Patient.objects.filter(not_improving=True).exists()
    assert QuestionnaireLink.objects.count() == 1
    from outcomes.selectors import patients_with_measures_due

    assert patients_with_measures_due().exists()


def test_the_demo_patients_instruments_agree_with_each_other():
    """Tom Fletcher's PHQ-9 4 came with a PROMIS depression T of 69.4: one latent severity
    per patient now drives every answer (outcomes.synthetic)."""
    call_command("demo_data")
    for patient in Patient.objects.all():
        first = {}
        for r in QuestionnaireResponse.objects.filter(patient=patient).order_by("answered_at"):
            first.setdefault(r.instrument, r.scores)
        phq9, gad7, promis = first["phq9"]["total"], first["gad7"]["total"], first["promis29"]
        name = patient.full_name
        if phq9 < 10:
            assert promis["depression"]["t_score"] < 65, (name, phq9, promis["depression"])
        if phq9 >= 15:
            assert promis["depression"]["t_score"] >= 60, (name, phq9, promis["depression"])
        if gad7 < 10:
            assert promis["anxiety"]["t_score"] < 66, (name, gad7, promis["anxiety"])
        if gad7 >= 15:
            assert promis["anxiety"]["t_score"] >= 60, (name, gad7, promis["anxiety"])
