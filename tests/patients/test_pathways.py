import pytest

from patients.pathways import RED_FLAG_KEYS, suggest, validate_red_flags

NONE = {k: False for k in RED_FLAG_KEYS}


@pytest.mark.parametrize(("risk", "pathway", "services"), [
    ("low", "self_management", []),
    ("medium", "physiotherapy", ["physio"]),
    ("high", "psychologically_informed_physio", ["physio", "psychology"]),
])
def test_it_routes_by_risk_group(risk, pathway, services):
    s = suggest(risk_group=risk, red_flags=NONE)
    assert s.pathway == pathway
    assert [r.service for r in s.referrals] == services


@pytest.mark.parametrize("flag", RED_FLAG_KEYS)
@pytest.mark.parametrize("risk", ["low", "medium", "high"])
def test_any_red_flag_routes_to_urgent_medical_review(flag, risk):
    s = suggest(risk_group=risk, red_flags=NONE | {flag: True})
    assert s.pathway == "urgent_medical_review"
    assert (s.referrals[0].service, s.referrals[0].priority) == ("pain_medicine", "urgent")
    assert s.red_flags_present == (flag,)


@pytest.mark.parametrize(("phq9", "gad7", "adds"), [
    (9, 9, False), (10, 0, True), (0, 10, True), (10, 10, True), (None, None, False),
    (27, None, True), (None, 9, False),
])
def test_it_adds_behavioural_health_at_phq9_or_gad7_of_10(phq9, gad7, adds):
    s = suggest(risk_group="low", red_flags=NONE, phq9_total=phq9, gad7_total=gad7)
    assert ("behavioural_health" in [r.service for r in s.referrals]) is adds


def test_behavioural_health_is_added_even_with_red_flags():
    s = suggest(risk_group="high", red_flags=NONE | {"cancer_history": True}, phq9_total=15)
    assert [r.service for r in s.referrals] == ["pain_medicine", "behavioural_health"]


def test_it_requires_every_red_flag_as_a_boolean():
    errors = validate_red_flags({"cauda_equina": "yes", "bogus": True})
    assert errors["cauda_equina"] == ["Must be true or false."]
    assert "bogus" in errors
    assert set(RED_FLAG_KEYS) - {"cauda_equina"} <= set(errors)
    assert validate_red_flags(NONE) == {}
