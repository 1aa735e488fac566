"""PEG scoring (Krebs et al., J Gen Intern Med 2009): mean of 3 items, 2 decimals, half-up."""

import pytest

from outcomes.instruments import peg, score_response


@pytest.mark.parametrize(
    ("q1", "q2", "q3", "expected"),
    [
        (3, 4, 4, 3.67),  # 11 / 3 = 3.666...
        (0, 0, 0, 0.0),
        (10, 10, 10, 10.0),
        (1, 0, 0, 0.33),
        (2, 0, 0, 0.67),  # 0.666... rounds up
        (5, 5, 6, 5.33),
        (7, 7, 6, 6.67),
        (6, 6, 6, 6.0),
        (10, 9, 10, 9.67),
        (0, 10, 5, 5.0),
        (4, 5, 5, 4.67),
    ],
)
def test_it_scores_the_rounded_mean(q1, q2, q3, expected):
    scored = peg.score({"q1": q1, "q2": q2, "q3": q3})
    assert scored == {"score": expected}
    assert isinstance(scored["score"], float)


@pytest.mark.parametrize("total", range(31))
def test_it_stays_within_half_a_hundredth_of_the_exact_mean(total):
    q1 = min(total, 10)
    q2 = min(total - q1, 10)
    q3 = total - q1 - q2
    value = peg.score({"q1": q1, "q2": q2, "q3": q3})["score"]
    assert abs(value - total / 3) <= 0.005 + 1e-9
    assert round(value, 2) == value


def test_it_accepts_form_strings_through_score_response():
    assert score_response("peg", {"q1": "3", "q2": "4", "q3": "4"}).scores == {"score": 3.67}
