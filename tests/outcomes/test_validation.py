"""Validation, coercion and the registry's public shape."""

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError
from decimal import Decimal
from pathlib import Path

import pytest

import outcomes.instruments
from outcomes.instruments import (
    CODES,
    InvalidAnswers,
    UnknownInstrument,
    all_instruments,
    clean,
    get,
    score_response,
    validate,
)

PHQ9_VALID = {f"q{i}": 1 for i in range(1, 10)}
ALLOWED_0_3 = "Select a valid choice. Allowed values: 0, 1, 2, 3."


def test_it_lists_the_instruments_in_program_order():
    assert CODES == ("startback", "peg", "phq9", "gad7", "promis29", "promis_gh", "nps",
                     "cssrs_screen", "psfs")
    assert [instrument.code for instrument in all_instruments()] == list(CODES)


@pytest.mark.parametrize("code", ["", "PHQ9", "phq-9", "oswestry", None])
def test_it_raises_unknown_instrument_as_a_key_error(code):
    with pytest.raises(UnknownInstrument):
        get(code)
    with pytest.raises(KeyError):
        validate(code, {})


@pytest.mark.parametrize(
    ("code", "item_count", "required_count"),
    [
        ("startback", 9, 9),
        ("peg", 3, 3),
        ("phq9", 10, 9),
        ("gad7", 7, 7),
        ("promis29", 29, 29),
        ("promis_gh", 10, 10),
        ("nps", 1, 1),
        ("cssrs_screen", 7, 3),  # q3-q5 and q6_recent are required only when asked
        ("psfs", 5, 1),
    ],
)
def test_it_builds_every_item(code, item_count, required_count):
    instrument = get(code)
    assert len(instrument.items) == item_count
    assert sum(item.required for item in instrument.items) == required_count


def test_it_exposes_a_json_ready_api_shape():
    for instrument in all_instruments():
        shape = instrument.as_dict()
        json.dumps(shape)
        assert set(shape) == {
            "code", "name", "version", "recall_period", "items", "score_keys", "loinc",
            "direction", "mcid",
        }  # fmt: skip
        assert set(shape["loinc"]) == {"panel", "scores"}
        for item in shape["items"]:
            assert set(item) == {"key", "text", "required", "options", "loinc", "asked_when"}


def test_it_carries_the_verified_loinc_codes():
    phq9 = get("phq9").as_dict()
    assert phq9["loinc"]["panel"]["code"] == "44249-1"
    assert phq9["loinc"]["scores"]["total"]["code"] == "44261-6"
    assert phq9["items"][0]["loinc"]["code"] == "44250-9"
    assert get("peg").as_dict()["loinc"]["scores"]["score"]["code"] == "91147-9"
    assert get("gad7").loinc.scores["total"].code == "70274-6"
    assert get("startback").loinc.panel is None
    assert "social_roles" not in get("promis29").loinc.scores  # no verified code


def test_it_keeps_score_keys_and_directions_as_published():
    assert get("phq9").as_dict()["score_keys"] == {
        "total": "integer 0-27",
        "severity": "none_minimal|mild|moderate|moderately_severe|severe",
        "item9_positive": "boolean",
    }
    assert get("nps").as_dict()["score_keys"] == ["score", "category"]
    assert get("peg").direction == "higher_is_worse"
    assert get("promis29").direction["physical_function"] == "higher_is_better"
    assert get("promis_gh").as_dict()["direction"] == {
        "gph": "higher_is_better",
        "gmh": "higher_is_better",
    }
    assert get("startback").direction is None


def test_it_freezes_instruments():
    with pytest.raises(FrozenInstanceError):
        get("peg").name = "changed"
    with pytest.raises(TypeError):
        get("peg").mcid["value"] = 1


def test_it_accepts_a_complete_valid_response():
    assert validate("phq9", PHQ9_VALID) == {}
    assert clean("phq9", PHQ9_VALID) == PHQ9_VALID


def test_it_reports_unknown_items():
    assert validate("phq9", {**PHQ9_VALID, "q11": 1, "mood": 2}) == {
        "q11": ["Unknown item."],
        "mood": ["Unknown item."],
    }


@pytest.mark.parametrize("blank", ["absent", None, "", "   "])
def test_it_reports_missing_required_items(blank):
    answers = dict(PHQ9_VALID)
    if blank == "absent":
        del answers["q4"]
    else:
        answers["q4"] = blank
    assert validate("phq9", answers) == {"q4": ["This item is required."]}


@pytest.mark.parametrize("blank", ["absent", None, ""])
def test_it_lets_the_optional_difficulty_item_be_blank(blank):
    answers = dict(PHQ9_VALID) if blank == "absent" else {**PHQ9_VALID, "q10": blank}
    assert clean("phq9", answers) == PHQ9_VALID


def test_it_keeps_an_answered_optional_item():
    assert clean("phq9", {**PHQ9_VALID, "q10": "2"})["q10"] == 2


@pytest.mark.parametrize(
    ("raw", "coerced"),
    [(3, 3), (0, 0), ("3", 3), (" 2 ", 2), ("0", 0), (3.0, 3), ("03", 3)],
)
def test_it_coerces_ints_digit_strings_and_whole_floats(raw, coerced):
    assert clean("phq9", {**PHQ9_VALID, "q1": raw})["q1"] == coerced


@pytest.mark.parametrize(
    "raw",
    [
        True,
        False,
        2.5,
        float("nan"),
        float("inf"),
        "2.0",
        "-1",
        "+1",
        "one",
        "1 2",
        "٣",  # Arabic-Indic three: a digit to str.isdigit, not to a form post
        Decimal("1"),
        [1],
        {"value": 1},
        b"1",
        4,
        -1,
        "4",
        "9" * 5000,
    ],
)
def test_it_rejects_values_that_are_not_allowed_options(raw):
    assert validate("phq9", {**PHQ9_VALID, "q1": raw}) == {"q1": [ALLOWED_0_3]}


def test_it_lists_allowed_values_in_ascending_order_for_reverse_keyed_items():
    errors = validate("promis29", {"PFA11": 0})
    assert errors["PFA11"] == ["Select a valid choice. Allowed values: 1, 2, 3, 4, 5."]
    assert errors["Global07"] == ["This item is required."]


@pytest.mark.parametrize("answers", [None, [], [("q1", 1)], "q1=1", 7])
def test_it_reports_a_non_mapping_as_a_non_field_error(answers):
    errors = validate("phq9", answers)
    assert list(errors) == ["non_field_errors"]
    with pytest.raises(InvalidAnswers) as excinfo:
        clean("phq9", answers)
    assert excinfo.value.errors == errors


def test_it_raises_invalid_answers_with_every_error():
    with pytest.raises(InvalidAnswers) as excinfo:
        clean("peg", {"q1": 11, "q3": "x", "q4": 1})
    assert isinstance(excinfo.value, Exception)
    assert excinfo.value.errors == {
        "q4": ["Unknown item."],
        "q1": ["Select a valid choice. Allowed values: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10."],
        "q2": ["This item is required."],
        "q3": ["Select a valid choice. Allowed values: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10."],
    }


def test_it_scores_only_after_validating_the_whole_response():
    scored = score_response("phq9", {**PHQ9_VALID, "q1": "3"})
    assert scored.answers_clean["q1"] == 3
    assert scored.scores == {"total": 11, "severity": "moderate", "item9_positive": True}
    with pytest.raises(InvalidAnswers):
        score_response("phq9", {"q1": 3})


@pytest.mark.parametrize("code", CODES)
def test_it_validates_inside_every_scorer(code):
    from outcomes.instruments.scoring import SCORERS

    with pytest.raises(InvalidAnswers):
        SCORERS[code]({})


def test_it_imports_without_django_or_a_database():
    code = (
        "import sys; import outcomes.instruments, outcomes.mme; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]; "
        "assert not bad, bad"
    )
    root = Path(outcomes.instruments.__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
