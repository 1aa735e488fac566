"""PHQ-9 scoring (Kroenke et al., J Gen Intern Med 2001): bands 0-4/5-9/10-14/15-19/20-27."""

import pytest

from outcomes.instruments import InvalidAnswers, phq9

ITEMS = [f"q{i}" for i in range(1, 10)]


def answers_with_total(total: int, q9: int = 0) -> dict[str, int]:
    """Spread ``total - q9`` over q1-q8 (max 3 each), with q9 as given."""
    rest = total - q9
    result = {}
    for key in ITEMS[:8]:
        result[key] = min(rest, 3)
        rest -= result[key]
    assert rest == 0, "total not reachable with this q9"
    result["q9"] = q9
    return result


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "none_minimal"),
        (4, "none_minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (24, "severe"),
    ],
)
def test_it_applies_each_severity_band_boundary(total, severity):
    scored = phq9.score(answers_with_total(total))
    assert scored == {"total": total, "severity": severity, "item9_positive": False}


def test_it_scores_the_maximum_as_27_severe():
    scored = phq9.score(answers_with_total(27, q9=3))
    assert scored == {"total": 27, "severity": "severe", "item9_positive": True}


@pytest.mark.parametrize(("q9", "positive"), [(0, False), (1, True), (2, True), (3, True)])
def test_it_flags_item9_whenever_it_is_above_zero(q9, positive):
    assert phq9.score(answers_with_total(q9, q9=q9))["item9_positive"] is positive


def test_it_flags_item9_even_when_the_total_is_minimal():
    scored = phq9.score(answers_with_total(1, q9=1))
    assert scored == {"total": 1, "severity": "none_minimal", "item9_positive": True}


def test_it_does_not_flag_item9_at_a_high_total_when_item9_is_zero():
    assert phq9.score(answers_with_total(24))["item9_positive"] is False


@pytest.mark.parametrize("q10", [None, 0, 1, 2, 3])
def test_it_never_scores_the_optional_difficulty_item(q10):
    base = answers_with_total(12)
    given = base if q10 is None else {**base, "q10": q10}
    assert phq9.score(given)["total"] == 12


def test_it_rejects_a_difficulty_answer_outside_its_options():
    with pytest.raises(InvalidAnswers) as excinfo:
        phq9.score({**answers_with_total(3), "q10": 4})
    assert list(excinfo.value.errors) == ["q10"]
