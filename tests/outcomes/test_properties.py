"""Property tests: every valid response scores, in range; every invalid one is rejected."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.instruments import (
    CODES,
    InvalidAnswers,
    compare,
    get,
    headline,
    score_response,
    spec,
    validate,
)
from outcomes.mme import OPIOIDS, daily_mme, total_mme

# No example database: it would write a .hypothesis/ folder into the working tree.
PROPERTY = settings(database=None, deadline=None, max_examples=150)


def form_value(value: int) -> st.SearchStrategy[Any]:
    """The same answer as JSON would send it or as an HTML form would post it."""
    return st.sampled_from([value, str(value), f" {value} ", float(value)])


@st.composite
def valid_answers(draw: st.DrawFn, code: str) -> dict[str, Any]:
    """Any valid response; items under skip logic answered exactly when they are asked."""
    instrument = get(code)
    answers: dict[str, Any] = {}
    given: dict[str, int] = {}
    for item in instrument.items:
        asked = instrument.applies(item.key, given)
        if item.key in instrument.asked_when and not asked:
            continue
        if not item.required and item.key not in instrument.asked_when and draw(st.booleans()):
            if draw(st.booleans()):
                answers[item.key] = None
            continue
        given[item.key] = draw(st.sampled_from(item.allowed_values))
        answers[item.key] = draw(form_value(given[item.key]))
    return answers


def bad_value(allowed: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers().filter(lambda v: v not in allowed),
        st.integers().filter(lambda v: v not in allowed).map(str),
        st.booleans(),
        st.floats().filter(lambda v: not float(v).is_integer()),
        st.text().filter(lambda t: t.strip() and not t.strip().isascii()),
        st.text(alphabet="abcxyz.-+e", min_size=1),
        st.lists(st.integers(), max_size=2),
        st.just(Decimal("1")),
    )


@st.composite
def invalid_answers(draw: st.DrawFn, code: str) -> tuple[dict[str, Any], str]:
    """A valid response with one defect; returns it and the key that must carry the error."""
    answers = draw(valid_answers(code))
    items = get(code).items
    conditional = get(code).asked_when
    defect = draw(st.sampled_from(["unknown", "missing", "null", "bad",
                                   *(["skip_logic"] if conditional else [])]))
    if defect == "skip_logic":  # answer an item that is not asked, or leave an asked one out
        key = draw(st.sampled_from(sorted(conditional)))
        if key in answers:
            answers.pop(key)
        else:
            answers[key] = draw(form_value(draw(st.sampled_from(get(code).item(key).allowed_values))))
        return answers, key
    if defect == "unknown":
        key = draw(st.text(min_size=1).filter(lambda k: k not in {i.key for i in items}))
        answers[key] = 1
        return answers, key
    required = [item for item in items if item.required]
    item = draw(st.sampled_from(required if defect in ("missing", "null") else list(items)))
    if defect == "missing":
        answers.pop(item.key, None)
    elif defect == "null":
        answers[item.key] = None
    else:
        answers[item.key] = draw(bad_value(item.allowed_values))
    return answers, item.key


def check_ranges(code: str, scores: dict[str, Any]) -> None:
    assert list(scores) == list(get(code).score_key_names)
    if code == "startback":
        assert 0 <= scores["psychosocial"] <= 5
        assert scores["psychosocial"] <= scores["total"] <= 9
        assert scores["risk_group"] in {"low", "medium", "high"}
        assert (scores["risk_group"] == "low") == (scores["total"] <= 3)
    elif code == "peg":
        assert 0.0 <= scores["score"] <= 10.0
    elif code in ("phq9", "gad7"):
        bands = spec(code)["scoring"]["severity"]
        assert bands[0]["min"] <= scores["total"] <= bands[-1]["max"]
        band = next(b for b in bands if b["min"] <= scores["total"] <= b["max"])
        assert scores["severity"] == band["value"]
    elif code == "nps":
        assert 0 <= scores["score"] <= 10
    elif code == "cssrs_screen":
        assert 0 <= scores["ideation_max"] <= 5
        assert scores["risk_level"] in {"none", "low", "moderate", "high"}
        if scores["risk_level"] == "none":
            assert scores["ideation_max"] == 0
        if scores["ideation_max"] >= 4:
            assert scores["risk_level"] == "high"
        assert isinstance(scores["behavior_recent"], bool)
        if scores["behavior_recent"]:
            assert scores["risk_level"] == "high"
    elif code == "psfs":
        assert 0.0 <= scores["score"] <= 10.0
        assert 1 <= len(scores["activities"]) <= 5 and "a1" in scores["activities"]
        assert min(scores["activities"].values()) <= scores["score"]
        assert scores["score"] <= max(scores["activities"].values())
    else:
        for key, value in scores.items():
            if key == "pain_intensity":
                assert 0 <= value <= 10
                continue
            assert 4 <= value["raw"] <= 20
            assert 15.0 <= value["t_score"] <= 85.0
            assert 0.0 < value["se"] < 10.0


@pytest.mark.parametrize("code", CODES)
def test_it_scores_every_valid_response_within_range(code):
    @PROPERTY
    @given(valid_answers(code))
    def check(answers):
        assert validate(code, answers) == {}
        scored = score_response(code, answers)
        check_ranges(code, scored.scores)
        assert all(
            isinstance(v, int) and not isinstance(v, bool) for v in scored.answers_clean.values()
        )
        assert all(isinstance(v, float) for v in headline(code, scored.scores).values())

    check()


@pytest.mark.parametrize("code", CODES)
def test_it_rejects_every_invalid_response(code):
    @settings(PROPERTY, suppress_health_check=[HealthCheck.filter_too_much])
    @given(invalid_answers(code))
    def check(case):
        answers, key = case
        with pytest.raises(InvalidAnswers) as excinfo:
            score_response(code, answers)
        assert str(key) in excinfo.value.errors

    check()


@pytest.mark.parametrize("code", CODES)
def test_it_rejects_every_non_mapping(code):
    @PROPERTY
    @given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())))
    def check(answers):
        with pytest.raises(InvalidAnswers) as excinfo:
            score_response(code, answers)
        assert list(excinfo.value.errors) == ["non_field_errors"]

    check()


@pytest.mark.parametrize("code", CODES)
def test_it_compares_any_two_responses_consistently(code):
    @PROPERTY
    @given(valid_answers(code), valid_answers(code))
    def check(first, second):
        before = score_response(code, first).scores
        after = score_response(code, second).scores
        forward = compare(code, before, after)
        backward = compare(code, after, before)
        opposite = {"improved": "worsened", "worsened": "improved"}
        for key, result in forward.items():
            assert result["classification"] in {"improved", "worsened", "unchanged", None}
            assert result["change"] == pytest.approx(
                result["value"] - result["baseline"], abs=0.005
            )
            same = compare(code, before, before)[key]["classification"]
            assert same in {"unchanged", None}
            if code != "peg":  # absolute rules are symmetric; PEG's relative rule is not
                back = backward[key]["classification"]
                assert back == opposite.get(result["classification"], result["classification"])

    check()


@PROPERTY
@given(
    st.sampled_from(sorted(OPIOIDS)),
    st.decimals(min_value=0, max_value=1000, places=2),
    st.integers(min_value=0, max_value=12),
)
def test_it_converts_every_dose_to_a_non_negative_one_decimal_mme(drug, dose, per_day):
    result = daily_mme(drug, dose, per_day)
    if OPIOIDS[drug].factor is None:
        assert result is None
        return
    assert result >= 0
    assert result == result.quantize(Decimal("0.1"))
    assert total_mme([(drug, dose, per_day)]) == result
    assert daily_mme(drug, dose + 1, per_day) >= result
