"""Builders: any valid response of any instrument becomes valid FHIR (the R4B models
validate on construction), one Observation per trendable score, codes where the registry
has them."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_api import codes, resources
from outcomes.instruments import CODES, all_instruments, get, headline_keys, score_response
from outcomes.models import QuestionnaireResponse


@st.composite
def answers_for(draw, code):
    """Required items, and the items the skip logic then asks, with any of their options."""
    instrument = get(code)
    out = {}
    for item in instrument.items:
        if (item.required or item.key in instrument.asked_when) and instrument.applies(item.key,
                                                                                        out):
            out[item.key] = draw(st.sampled_from([o.value for o in item.options]))
    return out


def response_of(code, answers):
    scored = score_response(code, answers)
    return QuestionnaireResponse(pk=41, patient_id=7, instrument=code,
                                 instrument_version=get(code).version,
                                 answers=scored.answers_clean, scores=scored.scores,
                                 answered_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_it_turns_any_valid_response_into_valid_fhir(code, data):
    response = response_of(code, data.draw(answers_for(code)))
    qr = resources.questionnaire_response_resource(response)
    assert {i.linkId for i in qr.item} == set(response.answers)
    observations = resources.observations_for(response)
    assert len(observations) == len(headline_keys(code))
    for obs in observations:
        assert obs.derivedFrom[0].reference == "QuestionnaireResponse/41"
        assert (obs.valueInteger is not None) != (obs.valueQuantity is not None)
        parsed = codes.parse_observation_id(obs.id)
        assert parsed is not None and parsed[0] == 41


@pytest.mark.parametrize("instrument", all_instruments(), ids=lambda i: i.code)
def test_it_codes_every_registry_loinc_score_and_item(instrument):
    questionnaire = resources.questionnaire_resource(instrument.code)
    for item, fhir_item in zip(instrument.items, questionnaire.item, strict=True):
        assert fhir_item.linkId == item.key
        assert [c.code for c in fhir_item.code or []] == ([item.loinc.code] if item.loinc else [])
        assert [o.valueCoding.code for o in fhir_item.answerOption] == [
            o.loinc_answer or str(o.value) for o in item.options]
    for key, loinc in instrument.loinc.scores.items():
        assert key in resources.observation_keys(instrument.code)  # every coded score is sent
        assert resources.score_codings(instrument.code, key)[0] == loinc.as_dict()


def test_it_round_trips_observation_ids():
    assert codes.observation_id(12, "physical_function") == "12-physical-function"
    assert codes.parse_observation_id("12-physical-function") == (12, "physical_function")
    assert codes.parse_observation_id("abc") is None


def test_it_carries_the_c_ssrs_skip_logic_as_enable_when():
    items = {i.linkId: i for i in resources.questionnaire_resource("cssrs_screen").item}
    for key, controller in (("q3", "q2"), ("q4", "q2"), ("q5", "q2"), ("q6_recent", "q6")):
        (condition,) = items[key].enableWhen
        assert (condition.question, condition.operator) == (controller, "=")
        assert (condition.answerCoding.code, condition.answerCoding.display) == ("1", "Yes")
        assert items[key].required is True  # required whenever it is enabled
    assert items["q1"].enableWhen is None and items["q2"].enableWhen is None
