"""C-SSRS screen (Posner et al., Am J Psychiatry 2011; Columbia triage guidelines): skip logic,
ideation_max, behavior_recent and risk_level as published in shared/instruments."""

import pytest

from outcomes.instruments import InvalidAnswers, cssrs_screen, get, validate

NOT_ASKED_Q2 = "Leave this unanswered: it is asked only when q2 is Yes (1)."
NOT_ASKED_Q6 = "Leave this unanswered: it is asked only when q6 is Yes (1)."
REQUIRED = "This item is required."
NONE = {"q1": 0, "q2": 0, "q6": 0}


@pytest.mark.parametrize(
    ("answers", "risk", "ideation_max", "behavior_recent"),
    [
        (NONE, "none", 0, False),
        ({"q1": 1, "q2": 0, "q6": 0}, "low", 1, False),
        ({"q1": 0, "q2": 1, "q3": 0, "q4": 0, "q5": 0, "q6": 0}, "low", 2, False),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 0}, "moderate", 3, False),
        ({"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 0, "q6": 0}, "high", 4, False),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 0}, "high", 5, False),
        ({"q1": 0, "q2": 1, "q3": 0, "q4": 0, "q5": 1, "q6": 0}, "high", 5, False),
        # Lifetime behaviour, not in the past 3 months: moderate whatever the ideation.
        ({"q1": 0, "q2": 0, "q6": 1, "q6_recent": 0}, "moderate", 0, False),
        ({"q1": 1, "q2": 0, "q6": 1, "q6_recent": 0}, "moderate", 1, False),
        # Recent behaviour: high even with no ideation at all.
        ({"q1": 0, "q2": 0, "q6": 1, "q6_recent": 1}, "high", 0, True),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 1, "q6_recent": 1}, "high", 3, True),
    ],
)
def test_it_triages_as_the_columbia_guidelines_say(answers, risk, ideation_max, behavior_recent):
    assert cssrs_screen.score(answers) == {
        "risk_level": risk, "ideation_max": ideation_max, "behavior_recent": behavior_recent}


def test_it_returns_the_published_score_keys_in_order():
    assert list(cssrs_screen.score(NONE)) == ["risk_level", "ideation_max", "behavior_recent"]


@pytest.mark.parametrize("key", ["q1", "q2", "q6"])
def test_it_always_requires_q1_q2_and_q6(key):
    answers = {k: v for k, v in NONE.items() if k != key}
    assert validate("cssrs_screen", answers) == {key: [REQUIRED]}


def test_it_requires_q3_to_q5_when_q2_is_yes():
    assert validate("cssrs_screen", {"q1": 1, "q2": 1, "q6": 0}) == {
        "q3": [REQUIRED], "q4": [REQUIRED], "q5": [REQUIRED]}
    assert validate("cssrs_screen", {"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q6": 0}) == {
        "q5": [REQUIRED]}


@pytest.mark.parametrize("key", ["q3", "q4", "q5"])
@pytest.mark.parametrize("value", [0, 1])
def test_it_refuses_q3_to_q5_when_q2_is_no(key, value):
    with pytest.raises(InvalidAnswers) as excinfo:
        cssrs_screen.score({**NONE, key: value})
    assert excinfo.value.errors == {key: [NOT_ASKED_Q2]}


def test_it_requires_q6_recent_when_q6_is_yes():
    assert validate("cssrs_screen", {"q1": 0, "q2": 0, "q6": 1}) == {"q6_recent": [REQUIRED]}


@pytest.mark.parametrize("value", [0, 1])
def test_it_refuses_q6_recent_when_q6_is_no(value):
    assert validate("cssrs_screen", {**NONE, "q6_recent": value}) == {"q6_recent": [NOT_ASKED_Q6]}


def test_it_reports_only_the_controlling_item_when_it_has_no_valid_answer():
    # q2 missing or out of range: whether q3-q5 are asked cannot be known, so only q2 is wrong.
    assert validate("cssrs_screen", {"q1": 0, "q3": 1, "q6": 0}) == {"q2": [REQUIRED]}
    errors = validate("cssrs_screen", {"q1": 0, "q2": 2, "q6": 0})
    assert list(errors) == ["q2"]


def test_it_rejects_values_other_than_no_and_yes():
    errors = validate("cssrs_screen", {"q1": 2, "q2": 0, "q6": 0})
    assert errors == {"q1": ["Select a valid choice. Allowed values: 0, 1."]}


def test_it_publishes_the_skip_logic_for_renderers_and_api_clients():
    items = {item["key"]: item for item in get("cssrs_screen").as_dict()["items"]}
    assert items["q3"]["asked_when"] == {"item": "q2", "equals": 1}
    assert items["q5"]["asked_when"] == {"item": "q2", "equals": 1}
    assert items["q6_recent"]["asked_when"] == {"item": "q6", "equals": 1}
    assert items["q1"]["asked_when"] is None and items["q6"]["asked_when"] is None


def test_it_has_no_mcid_and_no_default_schedule():
    from outcomes.instruments import compare
    from outcomes.schedule import DEFAULT_SCHEDULE

    low = cssrs_screen.score({"q1": 1, "q2": 0, "q6": 0})
    assert compare("cssrs_screen", low, cssrs_screen.score(NONE)) == {
        "ideation_max": {"baseline": 1.0, "value": 0.0, "change": -1.0, "classification": None}}
    assert "cssrs_screen" not in {rule.instrument for rule in DEFAULT_SCHEDULE}


def test_it_summarises_the_triage_for_the_patient_page():
    scores = cssrs_screen.score({"q1": 0, "q2": 0, "q6": 1, "q6_recent": 1})
    assert get("cssrs_screen").summary(scores) == (
        "high risk (ideation 0 of 5, recent suicidal behaviour)")
