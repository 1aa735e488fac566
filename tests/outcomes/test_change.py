"""Change from baseline and MCID classification, at every boundary in both directions.

Thresholds typed from the published MCIDs: PEG 30 % (CDC 2022), PHQ-9 5 points (Löwe 2004),
GAD-7 4 points (Toussaint 2020), PROMIS 3 T-score points (HealthMeasures; Terwee 2021).
"""

import pytest

from outcomes.instruments import compare, get, is_responder, score_response

PROMIS29_DOMAINS = (
    "physical_function",
    "anxiety",
    "depression",
    "fatigue",
    "sleep_disturbance",
    "social_roles",
    "pain_interference",
)
HIGHER_IS_BETTER = {"physical_function", "social_roles"}


def test_it_reads_the_published_thresholds():
    assert get("peg").mcid["value"] == 30 and get("peg").mcid["unit"] == "percent"
    assert get("phq9").mcid["value"] == 5
    assert get("gad7").mcid["value"] == 4
    assert get("promis29").mcid["value"] == 3
    assert get("promis_gh").mcid["value"] == 3
    assert get("startback").mcid is None and get("nps").mcid is None


def peg(score: float) -> dict:
    return {"score": score}


@pytest.mark.parametrize(
    ("baseline", "value", "classification"),
    [
        (10.0, 7.0, "improved"),  # exactly -30 %
        (10.0, 7.33, "unchanged"),  # -26.7 %
        (6.67, 4.67, "improved"),  # item sums 20 -> 14: exactly -30 % (rounded means say -29.99 %)
        (6.67, 5.0, "unchanged"),  # 20 -> 15: -25 %
        (3.33, 2.33, "improved"),  # 10 -> 7
        (3.33, 2.67, "unchanged"),  # 10 -> 8: -20 %
        (5.0, 3.5, "improved"),  # exact -30 % on a non-PEG-produced value
        (6.67, 8.67, "worsened"),  # 20 -> 26: exactly +30 %
        (6.67, 8.33, "unchanged"),  # 20 -> 25: +25 %
        (5.0, 6.67, "worsened"),  # 15 -> 20: +33 %
        (5.0, 6.33, "unchanged"),  # 15 -> 19: +26.7 %
        (0.0, 0.0, "unchanged"),  # nothing to improve from 0
        (0.0, 0.33, "worsened"),  # any rise from 0 is an unbounded relative increase
        (0.33, 0.0, "improved"),  # -100 %
        (4.0, 4.0, "unchanged"),
    ],
)
def test_it_classifies_peg_by_relative_change(baseline, value, classification):
    result = compare("peg", peg(baseline), peg(value))
    assert result == {
        "score": {
            "baseline": baseline,
            "value": value,
            "change": round(value - baseline, 2),
            "classification": classification,
        }
    }
    assert is_responder("peg", peg(baseline), peg(value)) is (classification == "improved")


@pytest.mark.parametrize(
    ("code", "baseline", "value", "classification"),
    [
        ("phq9", 15, 10, "improved"),  # falls exactly 5
        ("phq9", 15, 11, "unchanged"),  # falls 4
        ("phq9", 10, 15, "worsened"),  # rises 5
        ("phq9", 10, 14, "unchanged"),  # rises 4
        ("phq9", 27, 0, "improved"),
        ("gad7", 12, 8, "improved"),  # falls exactly 4
        ("gad7", 12, 9, "unchanged"),  # falls 3
        ("gad7", 8, 12, "worsened"),  # rises 4
        ("gad7", 8, 11, "unchanged"),  # rises 3
    ],
)
def test_it_classifies_phq9_and_gad7_by_points(code, baseline, value, classification):
    result = compare(code, {"total": baseline}, {"total": value})
    assert result["total"]["classification"] == classification
    assert result["total"]["change"] == value - baseline
    assert is_responder(code, {"total": baseline}, {"total": value}) is (
        classification == "improved"
    )


def promis29_scores(t_scores: dict[str, float], pain: int = 5) -> dict:
    scores = {name: {"raw": 12, "t_score": 50.0, "se": 2.0} for name in PROMIS29_DOMAINS}
    for name, t_score in t_scores.items():
        scores[name] = {"raw": 12, "t_score": t_score, "se": 2.0}
    return scores | {"pain_intensity": pain}


def promis29_cases():
    for domain in PROMIS29_DOMAINS:
        better = 1 if domain in HIGHER_IS_BETTER else -1
        yield domain, 50.0, 50.0 + 3.0 * better, "improved"
        yield domain, 50.0, 50.0 + 2.9 * better, "unchanged"
        yield domain, 50.0, 50.0 - 3.0 * better, "worsened"
        yield domain, 50.0, 50.0 - 2.9 * better, "unchanged"


@pytest.mark.parametrize(("domain", "baseline", "value", "classification"), list(promis29_cases()))
def test_it_classifies_each_promis29_domain_in_its_improving_direction(
    domain, baseline, value, classification
):
    key = f"{domain}.t_score"
    result = compare(
        "promis29", promis29_scores({domain: baseline}), promis29_scores({domain: value})
    )
    assert result[key]["classification"] == classification
    assert is_responder(
        "promis29", promis29_scores({domain: baseline}), promis29_scores({domain: value}), key=key
    ) is (classification == "improved")


def test_it_treats_a_float_unfriendly_three_point_change_as_exactly_three():
    # 53.3 - 50.3 is 2.9999999999999964 in binary floating point.
    result = compare(
        "promis29",
        promis29_scores({"pain_interference": 53.3, "physical_function": 50.3}),
        promis29_scores({"pain_interference": 50.3, "physical_function": 53.3}),
    )
    assert result["pain_interference.t_score"]["change"] == -3.0
    assert result["pain_interference.t_score"]["classification"] == "improved"
    assert result["physical_function.t_score"]["classification"] == "improved"


def test_it_reports_promis29_pain_intensity_without_a_classification():
    result = compare("promis29", promis29_scores({}, pain=8), promis29_scores({}, pain=2))
    assert result["pain_intensity"] == {
        "baseline": 8.0,
        "value": 2.0,
        "change": -6.0,
        "classification": None,
    }
    with pytest.raises(ValueError):
        is_responder(
            "promis29", promis29_scores({}, pain=8), promis29_scores({}), key="pain_intensity"
        )


def test_it_compares_every_promis29_headline_key():
    result = compare("promis29", promis29_scores({}), promis29_scores({}))
    assert list(result) == [f"{d}.t_score" for d in PROMIS29_DOMAINS] + ["pain_intensity"]


def test_it_calls_promis29_a_responder_when_any_domain_improves():
    baseline = promis29_scores({})
    assert is_responder("promis29", baseline, promis29_scores({"fatigue": 46.0})) is True
    assert is_responder("promis29", baseline, promis29_scores({"fatigue": 48.0})) is False


def gh(gph: float, gmh: float) -> dict:
    return {
        "gph": {"raw": 12, "t_score": gph, "se": 4.1},
        "gmh": {"raw": 12, "t_score": gmh, "se": 3.6},
    }


@pytest.mark.parametrize(
    ("baseline", "value", "classification"),
    [
        (40.0, 43.0, "improved"),
        (40.0, 42.9, "unchanged"),
        (40.0, 37.0, "worsened"),
        (40.0, 37.1, "unchanged"),
    ],
)
def test_it_classifies_global_health_increases_as_improvement(baseline, value, classification):
    result = compare("promis_gh", gh(baseline, baseline), gh(value, value))
    assert result["gph.t_score"]["classification"] == classification
    assert result["gmh.t_score"]["classification"] == classification


def test_it_uses_real_table_steps_for_global_health():
    # GPH raw 12 -> 13 is 39.8 -> 42.3 (+2.5, unchanged); raw 12 -> 14 is 44.9 (+5.1, improved).
    assert (
        compare("promis_gh", gh(39.8, 43.5), gh(42.3, 43.5))["gph.t_score"]["classification"]
        == "unchanged"
    )
    assert compare("promis_gh", gh(39.8, 43.5), gh(44.9, 46.0))["gph.t_score"]["change"] == 5.1
    assert is_responder("promis_gh", gh(39.8, 43.5), gh(44.9, 43.5), key="gph.t_score") is True
    assert is_responder("promis_gh", gh(39.8, 43.5), gh(44.9, 43.5), key="gmh.t_score") is False


def test_it_gives_startback_and_nps_no_classification():
    startback = compare(
        "startback",
        {"total": 7, "psychosocial": 4, "risk_group": "high"},
        {"total": 2, "psychosocial": 1, "risk_group": "low"},
    )
    assert startback == {
        "total": {"baseline": 7.0, "value": 2.0, "change": -5.0, "classification": None},
        "psychosocial": {"baseline": 4.0, "value": 1.0, "change": -3.0, "classification": None},
    }
    nps = compare(
        "nps", {"score": 6, "category": "detractor"}, {"score": 9, "category": "promoter"}
    )
    assert nps == {"score": {"baseline": 6.0, "value": 9.0, "change": 3.0, "classification": None}}
    with pytest.raises(ValueError):
        is_responder(
            "nps", {"score": 6, "category": "detractor"}, {"score": 9, "category": "promoter"}
        )


def test_it_compares_scores_straight_from_the_scorer():
    before = score_response("phq9", {f"q{i}": 2 for i in range(1, 10)}).scores  # 18
    after = score_response("phq9", {f"q{i}": 1 for i in range(1, 10)} | {"q9": 0}).scores  # 8
    assert compare("phq9", before, after)["total"] == {
        "baseline": 18.0,
        "value": 8.0,
        "change": -10.0,
        "classification": "improved",
    }


def test_it_rejects_scores_without_the_headline_numbers():
    with pytest.raises(ValueError):
        compare("phq9", {"severity": "mild"}, {"total": 3})
    with pytest.raises(KeyError):
        is_responder("phq9", {"total": 10}, {"total": 3}, key="severity")
