"""PSFS (Stratford et al. 1995; Horn et al. 2012): a1 required, a2-a5 optional, each 0-10; score
= mean of the answered activities rounded half-up to 2 decimals; higher is better; responder:
mean rises >= 2; one activity improves meaningfully when it rises >= 3."""

import pytest

from outcomes.instruments import InvalidAnswers, compare, get, is_responder, psfs, validate


@pytest.mark.parametrize(
    ("answers", "score"),
    [
        ({"a1": 0}, 0.0),
        ({"a1": 10}, 10.0),
        ({"a1": 3, "a2": 4}, 3.5),
        ({"a1": 3, "a2": 4, "a3": 4}, 3.67),        # 11/3 = 3.666...
        ({"a1": 1, "a2": 1, "a3": 2}, 1.33),        # 4/3 = 1.333...
        ({"a1": 2, "a2": 2, "a3": 2, "a4": 3, "a5": 3}, 2.4),
        ({"a1": 1, "a2": 2, "a3": 2, "a4": 2, "a5": 2}, 1.8),
        ({"a1": 0, "a2": 0, "a3": 0, "a4": 0, "a5": 1}, 0.2),
        ({"a1": 7, "a2": 8, "a3": 8}, 7.67),        # 23/3 = 7.666...
        ({"a1": 9, "a2": 8, "a3": 8, "a4": 8, "a5": 8}, 8.2),
    ],
)
def test_it_scores_the_mean_of_the_answered_activities(answers, score):
    assert psfs.score(answers) == {"score": score, "activities": answers}


def test_it_skips_unanswered_activities_in_the_mean_and_the_activities():
    scored = psfs.score({"a1": 4, "a2": "", "a3": None, "a4": "8"})
    assert scored == {"score": 6.0, "activities": {"a1": 4, "a4": 8}}


def test_it_requires_the_first_activity_only():
    assert validate("psfs", {"a2": 5}) == {"a1": ["This item is required."]}
    assert validate("psfs", {"a1": 5}) == {}


@pytest.mark.parametrize("bad", [11, -1, "ten", 5.5])
def test_it_refuses_ratings_outside_0_to_10(bad):
    with pytest.raises(InvalidAnswers) as excinfo:
        psfs.score({"a1": 5, "a3": bad})
    assert list(excinfo.value.errors) == ["a3"]


def test_it_refuses_a_sixth_activity():
    assert validate("psfs", {"a1": 5, "a6": 5}) == {"a6": ["Unknown item."]}


@pytest.mark.parametrize(
    ("before", "after", "classification"),
    [
        ({"a1": 3}, {"a1": 5}, "improved"),                                  # +2 exactly
        ({"a1": 3}, {"a1": 4}, "unchanged"),
        ({"a1": 5}, {"a1": 3}, "worsened"),
        # 13/3 (4.33) -> 19/3 (6.33) is exactly +2 although both are rounded.
        ({"a1": 4, "a2": 4, "a3": 5}, {"a1": 6, "a2": 6, "a3": 7}, "improved"),
        # 4.33 -> 6.25 is +1.92: not yet.
        ({"a1": 4, "a2": 4, "a3": 5}, {"a1": 6, "a2": 6, "a3": 6, "a4": 7}, "unchanged"),
    ],
)
def test_it_calls_a_mean_rise_of_2_a_response(before, after, classification):
    result = compare("psfs", psfs.score(before), psfs.score(after))
    assert result["score"]["classification"] == classification
    assert is_responder("psfs", psfs.score(before), psfs.score(after)) is (
        classification == "improved")


def test_it_calls_a_rise_of_3_in_one_activity_meaningful():
    before = psfs.score({"a1": 2, "a2": 5, "a3": 6})
    after = psfs.score({"a1": 5, "a2": 7, "a4": 9})
    assert psfs.activity_changes(before, after) == {
        "a1": {"baseline": 2, "value": 5, "change": 3, "classification": "improved"},
        "a2": {"baseline": 5, "value": 7, "change": 2, "classification": "unchanged"},
    }
    worse = psfs.activity_changes(after, before)
    assert worse["a1"]["classification"] == "worsened"


def test_it_is_higher_is_better_with_no_loinc_code():
    instrument = get("psfs")
    assert instrument.direction == "higher_is_better"
    assert instrument.loinc.panel is None and not instrument.loinc.scores
    assert instrument.intro.startswith("Today, are there any activities")


def test_it_summarises_the_mean_for_the_patient_page():
    assert get("psfs").summary(psfs.score({"a1": 3, "a2": 4})) == "mean 3.5 over 2 activities"
    assert get("psfs").summary(psfs.score({"a1": 3})) == "mean 3.0 over 1 activity"
