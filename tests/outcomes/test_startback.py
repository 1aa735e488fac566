"""STarT Back scoring against the Keele scoring rules (Hill et al. 2008; keele.ac.uk/sbst).

Expected values are typed from the published rules, not read from the data file, so a wrong
data file fails these tests.
"""

import pytest

from outcomes.instruments import score_response, startback

PHYSICAL = ("q1", "q2", "q3", "q4")
PSYCHOSOCIAL_AGREE = ("q5", "q6", "q7", "q8")


def answers(physical: int = 0, psychosocial: int = 0, q9: int | None = None) -> dict[str, int]:
    """Agree with the first ``physical`` of q1-q4 and reach ``psychosocial`` points on q5-q9.

    The fifth psychosocial point comes from q9 = 3 ("Very much") unless ``q9`` is given.
    """
    result = {key: int(i < physical) for i, key in enumerate(PHYSICAL)}
    result |= {key: int(i < psychosocial) for i, key in enumerate(PSYCHOSOCIAL_AGREE)}
    result["q9"] = q9 if q9 is not None else (3 if psychosocial >= 5 else 0)
    return result


def test_it_scores_all_disagree_as_zero_low_risk():
    assert startback.score(answers()) == {"total": 0, "psychosocial": 0, "risk_group": "low"}


def test_it_scores_all_agree_and_extremely_bothersome_as_nine_high_risk():
    scored = startback.score(answers(physical=4, psychosocial=4, q9=4))
    assert scored == {"total": 9, "psychosocial": 5, "risk_group": "high"}


@pytest.mark.parametrize("key", [f"q{i}" for i in range(1, 9)])
def test_it_scores_agree_as_one_point_on_items_one_to_eight(key):
    base = answers()
    assert startback.score({**base, key: 1})["total"] == 1
    assert startback.score({**base, key: 0})["total"] == 0


@pytest.mark.parametrize(
    ("q9", "points"),
    [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 1),
    ],  # Not at all, Slightly, Moderately, Very much, Extremely
)
def test_it_gives_bothersomeness_a_point_only_for_very_much_or_extremely(q9, points):
    scored = startback.score(answers(q9=q9))
    assert scored["total"] == points
    assert scored["psychosocial"] == points


@pytest.mark.parametrize("key", PHYSICAL)
def test_it_leaves_items_one_to_four_out_of_the_psychosocial_subscale(key):
    assert startback.score({**answers(), key: 1})["psychosocial"] == 0


@pytest.mark.parametrize("key", PSYCHOSOCIAL_AGREE)
def test_it_counts_items_five_to_eight_in_the_psychosocial_subscale(key):
    assert startback.score({**answers(), key: 1})["psychosocial"] == 1


@pytest.mark.parametrize(
    ("physical", "psychosocial", "total", "risk_group"),
    [
        (0, 0, 0, "low"),
        (3, 0, 3, "low"),  # total boundary: 3 is low ...
        (4, 0, 4, "medium"),  # ... 4 is not
        (0, 3, 3, "low"),  # psychosocial 3 but total only 3
        (1, 3, 4, "medium"),  # total 4, psychosocial 3: medium ...
        (0, 4, 4, "high"),  # ... psychosocial 4: high (and implies total >= 4)
        (4, 3, 7, "medium"),
        (4, 4, 8, "high"),
        (2, 5, 7, "high"),
        (4, 5, 9, "high"),
    ],
)
def test_it_applies_the_risk_boundaries(physical, psychosocial, total, risk_group):
    scored = startback.score(answers(physical, psychosocial))
    assert scored == {"total": total, "psychosocial": psychosocial, "risk_group": risk_group}


@pytest.mark.parametrize("physical", range(5))
@pytest.mark.parametrize("psychosocial", range(6))
def test_it_matches_the_keele_rule_for_every_subscore_combination(physical, psychosocial):
    total = physical + psychosocial
    expected = "low" if total <= 3 else ("medium" if psychosocial <= 3 else "high")
    assert startback.score(answers(physical, psychosocial))["risk_group"] == expected


def test_it_scores_moderately_bothersome_as_no_point_so_four_agrees_stay_medium():
    # q5-q8 agree (4 psychosocial points) would be high; here q1 + q5-q7 agree, q9 "Moderately".
    scored = startback.score({**answers(physical=1, psychosocial=3), "q9": 2})
    assert scored == {"total": 4, "psychosocial": 3, "risk_group": "medium"}


def test_it_returns_exactly_the_published_score_keys_via_score_response():
    scored = score_response("startback", {key: str(v) for key, v in answers(2, 2).items()})
    assert list(scored.scores) == ["total", "psychosocial", "risk_group"]
