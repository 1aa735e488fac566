"""Demo and benchmark answers from one latent severity agree across instruments."""

import random

import pytest

from outcomes import instruments
from outcomes.synthetic import answers_at


def _scores(code, severity, seed):
    return instruments.score_response(code, answers_at(code, severity, random.Random(seed))).scores


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(("severity", "phq9_max", "dep_t_max"), [(0.15, 9, 60), (0.4, 14, 66)])
def test_a_mild_patient_is_mild_on_every_instrument(severity, phq9_max, dep_t_max, seed):
    phq9 = _scores("phq9", severity, seed)["total"]
    gad7 = _scores("gad7", severity, seed)["total"]
    promis = _scores("promis29", severity, seed)
    assert phq9 <= phq9_max and gad7 <= phq9_max
    assert promis["depression"]["t_score"] < dep_t_max, (phq9, promis["depression"])
    assert promis["anxiety"]["t_score"] < dep_t_max + 2, (gad7, promis["anxiety"])


@pytest.mark.parametrize("seed", range(20))
def test_a_severe_patient_is_severe_on_every_instrument(seed):
    assert _scores("phq9", 0.8, seed)["total"] >= 15
    assert _scores("gad7", 0.8, seed)["total"] >= 10
    promis = _scores("promis29", 0.8, seed)
    assert promis["depression"]["t_score"] >= 60 and promis["anxiety"]["t_score"] >= 60
    assert promis["physical_function"]["t_score"] < 40
    assert _scores("peg", 0.8, seed)["score"] >= 6
