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
