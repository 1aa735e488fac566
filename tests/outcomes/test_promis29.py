"""PROMIS-29 v2.1 scoring: every row of every domain's raw -> T/SE table, reverse keying.

``PUBLISHED`` is typed from the PROMIS Adult Profile Scoring Manual tables as vetted for this
project (two agreeing public transcriptions + IRT recomputation; see data/README.md). Depression
raw 20 SE is 2.6 as printed (the recomputation suggests 3.6 — a known open question).
"""

import pytest

from outcomes.instruments import get, promis29, spec

PUBLISHED = {
    "physical_function": {
        4: (22.5, 4.0), 5: (26.6, 2.8), 6: (28.9, 2.5), 7: (30.5, 2.4), 8: (31.9, 2.3),
        9: (33.2, 2.3), 10: (34.4, 2.3), 11: (35.6, 2.3), 12: (36.7, 2.3), 13: (37.9, 2.3),
        14: (39.2, 2.4), 15: (40.5, 2.4), 16: (41.9, 2.5), 17: (43.5, 2.6), 18: (45.5, 2.8),
        19: (48.3, 3.3), 20: (57.0, 6.6),
    },
    "anxiety": {
        4: (40.3, 6.1), 5: (48.0, 3.6), 6: (51.2, 3.1), 7: (53.7, 2.8), 8: (55.8, 2.7),
        9: (57.7, 2.6), 10: (59.5, 2.6), 11: (61.4, 2.6), 12: (63.4, 2.6), 13: (65.3, 2.7),
        14: (67.3, 2.7), 15: (69.3, 2.7), 16: (71.2, 2.7), 17: (73.3, 2.7), 18: (75.4, 2.7),
        19: (77.9, 2.9), 20: (81.6, 3.7),
    },
    "depression": {
        4: (41.0, 6.2), 5: (49.0, 3.2), 6: (51.8, 2.7), 7: (53.9, 2.4), 8: (55.7, 2.3),
        9: (57.3, 2.3), 10: (58.9, 2.3), 11: (60.5, 2.3), 12: (62.2, 2.3), 13: (63.9, 2.3),
        14: (65.7, 2.3), 15: (67.5, 2.3), 16: (69.4, 2.3), 17: (71.2, 2.4), 18: (73.3, 2.4),
        19: (75.7, 2.6), 20: (79.4, 2.6),
    },
    "fatigue": {
        4: (33.7, 4.9), 5: (39.7, 3.1), 6: (43.1, 2.7), 7: (46.0, 2.6), 8: (48.6, 2.5),
        9: (51.0, 2.5), 10: (53.1, 2.4), 11: (55.1, 2.4), 12: (57.0, 2.3), 13: (58.8, 2.3),
        14: (60.7, 2.3), 15: (62.7, 2.4), 16: (64.6, 2.4), 17: (66.7, 2.4), 18: (69.0, 2.5),
        19: (71.6, 2.7), 20: (75.8, 3.9),
    },
    "sleep_disturbance": {
        4: (32.0, 5.2), 5: (37.5, 4.0), 6: (41.1, 3.7), 7: (43.8, 3.5), 8: (46.2, 3.5),
        9: (48.4, 3.4), 10: (50.5, 3.4), 11: (52.4, 3.4), 12: (54.3, 3.4), 13: (56.1, 3.4),
        14: (57.9, 3.3), 15: (59.8, 3.3), 16: (61.7, 3.3), 17: (63.8, 3.4), 18: (66.0, 3.4),
        19: (68.8, 3.7), 20: (73.3, 4.6),
    },
    "social_roles": {
        4: (27.5, 4.1), 5: (31.8, 2.5), 6: (34.0, 2.3), 7: (35.7, 2.2), 8: (37.3, 2.1),
        9: (38.8, 2.2), 10: (40.5, 2.3), 11: (42.3, 2.3), 12: (44.2, 2.3), 13: (46.2, 2.3),
        14: (48.1, 2.2), 15: (50.0, 2.2), 16: (51.9, 2.2), 17: (53.7, 2.3), 18: (55.8, 2.3),
        19: (58.3, 2.7), 20: (64.2, 5.1),
    },
    "pain_interference": {
        4: (41.6, 6.1), 5: (49.6, 2.5), 6: (52.0, 2.0), 7: (53.9, 1.9), 8: (55.6, 1.9),
        9: (57.1, 1.9), 10: (58.5, 1.8), 11: (59.9, 1.8), 12: (61.2, 1.8), 13: (62.5, 1.8),
        14: (63.8, 1.8), 15: (65.2, 1.8), 16: (66.6, 1.8), 17: (68.0, 1.8), 18: (69.7, 1.9),
        19: (71.6, 2.1), 20: (75.6, 3.7),
    },
}  # fmt: skip

DOMAIN_ITEMS = {
    "physical_function": ("PFA11", "PFA21", "PFA23", "PFA53"),
    "anxiety": ("EDANX01", "EDANX40", "EDANX41", "EDANX53"),
    "depression": ("EDDEP04", "EDDEP06", "EDDEP29", "EDDEP41"),
    "fatigue": ("HI7", "AN3", "FATEXP41", "FATEXP40"),
    "sleep_disturbance": ("Sleep109", "Sleep116", "Sleep20", "Sleep44"),
    "social_roles": ("SRPPER11_CaPS", "SRPPER18_CaPS", "SRPPER23_CaPS", "SRPPER46_CaPS"),
    "pain_interference": ("PAININ9", "PAININ22", "PAININ31", "PAININ34"),
}


def values_summing_to(raw: int, count: int = 4) -> list[int]:
    """``count`` item values in 1..5 that sum to ``raw`` (fill greedily from the first item)."""
    values = [1] * count
    extra = raw - count
    for i in range(count):
        values[i] += min(extra, 4)
        extra -= values[i] - 1
    assert extra == 0 and sum(values) == raw
    return values


def all_items(value: int = 3, pain: int = 5) -> dict[str, int]:
    result = {key: value for items in DOMAIN_ITEMS.values() for key in items}
    result["Global07"] = pain
    return result


def test_it_keeps_the_published_tables_in_the_data_file():
    domains = spec("promis29")["domains"]
    assert list(domains) == list(PUBLISHED)
    for name, table in PUBLISHED.items():
        data = {
            int(raw): (row["t_score"], row["se"])
            for raw, row in domains[name]["t_score_table"].items()
        }
        assert data == table, name


def test_it_uses_the_published_item_ids_per_domain():
    domains = spec("promis29")["domains"]
    assert {name: tuple(d["items"]) for name, d in domains.items()} == DOMAIN_ITEMS


@pytest.mark.parametrize(
    ("domain", "raw"), [(domain, raw) for domain in PUBLISHED for raw in range(4, 21)]
)
def test_it_looks_up_every_row_of_every_table(domain, raw):
    answers = all_items() | dict(zip(DOMAIN_ITEMS[domain], values_summing_to(raw), strict=True))
    t_score, se = PUBLISHED[domain][raw]
    assert promis29.score(answers)[domain] == {"raw": raw, "t_score": t_score, "se": se}


@pytest.mark.parametrize(
    ("domain", "raw"),
    [
        (name, int(raw))
        for name, d in spec("promis29")["domains"].items()
        for raw in d["t_score_table"]
    ],
)
def test_it_reaches_every_raw_sum_listed_in_the_data_file(domain, raw):
    answers = all_items() | dict(zip(DOMAIN_ITEMS[domain], values_summing_to(raw), strict=True))
    assert promis29.score(answers)[domain]["raw"] == raw


def test_it_scores_pain_interference_raw_4_as_41_6():
    answers = all_items() | {key: 1 for key in DOMAIN_ITEMS["pain_interference"]}
    assert promis29.score(answers)["pain_interference"] == {"raw": 4, "t_score": 41.6, "se": 6.1}


def test_it_keeps_the_printed_depression_raw_20_standard_error():
    answers = all_items() | {key: 5 for key in DOMAIN_ITEMS["depression"]}
    assert promis29.score(answers)["depression"] == {"raw": 20, "t_score": 79.4, "se": 2.6}


@pytest.mark.parametrize("pain", range(11))
def test_it_reports_pain_intensity_raw(pain):
    assert promis29.score(all_items(pain=pain))["pain_intensity"] == pain


def label_values(key: str) -> dict[str, int]:
    return {option.label: option.value for option in get("promis29").item(key).options}


@pytest.mark.parametrize("key", DOMAIN_ITEMS["physical_function"])
def test_it_reverse_keys_physical_function(key):
    assert label_values(key) == {
        "Without any difficulty": 5,
        "With a little difficulty": 4,
        "With some difficulty": 3,
        "With much difficulty": 2,
        "Unable to do": 1,
    }


def test_it_reverse_keys_sleep_quality_and_refreshing_sleep():
    assert label_values("Sleep109") == {
        "Very poor": 5,
        "Poor": 4,
        "Fair": 3,
        "Good": 2,
        "Very good": 1,
    }
    assert label_values("Sleep116") == {
        "Not at all": 5,
        "A little bit": 4,
        "Somewhat": 3,
        "Quite a bit": 2,
        "Very much": 1,
    }


@pytest.mark.parametrize("key", ("Sleep20", "Sleep44"))
def test_it_keeps_the_other_sleep_items_forward_keyed(key):
    assert label_values(key)["Not at all"] == 1
    assert label_values(key)["Very much"] == 5


@pytest.mark.parametrize("key", DOMAIN_ITEMS["social_roles"])
def test_it_reverse_keys_social_roles_with_usually_as_two(key):
    assert label_values(key) == {"Never": 5, "Rarely": 4, "Sometimes": 3, "Usually": 2, "Always": 1}


def answers_by_label(labels: dict[str, str], pain: int) -> dict[str, int]:
    answers = {}
    for domain, items in DOMAIN_ITEMS.items():
        for key in items:
            answers[key] = label_values(key)[labels.get(key, labels[domain])]
    answers["Global07"] = pain
    return answers


def test_it_scores_the_healthiest_possible_answers_at_the_favourable_extremes():
    best = answers_by_label(
        {
            "physical_function": "Without any difficulty",
            "anxiety": "Never",
            "depression": "Never",
            "fatigue": "Not at all",
            "sleep_disturbance": "Not at all",
            "Sleep109": "Very good",  # sleep quality
            "Sleep116": "Very much",  # "My sleep was refreshing"
            "social_roles": "Never",  # "I have trouble doing ..."
            "pain_interference": "Not at all",
        },
        pain=0,
    )
    assert promis29.score(best) == {
        "physical_function": {"raw": 20, "t_score": 57.0, "se": 6.6},
        "anxiety": {"raw": 4, "t_score": 40.3, "se": 6.1},
        "depression": {"raw": 4, "t_score": 41.0, "se": 6.2},
        "fatigue": {"raw": 4, "t_score": 33.7, "se": 4.9},
        "sleep_disturbance": {"raw": 4, "t_score": 32.0, "se": 5.2},
        "social_roles": {"raw": 20, "t_score": 64.2, "se": 5.1},
        "pain_interference": {"raw": 4, "t_score": 41.6, "se": 6.1},
        "pain_intensity": 0,
    }


def test_it_scores_the_least_healthy_answers_at_the_unfavourable_extremes():
    worst = answers_by_label(
        {
            "physical_function": "Unable to do",
            "anxiety": "Always",
            "depression": "Always",
            "fatigue": "Very much",
            "sleep_disturbance": "Very much",
            "Sleep109": "Very poor",
            "Sleep116": "Not at all",
            "social_roles": "Always",
            "pain_interference": "Very much",
        },
        pain=10,
    )
    scored = promis29.score(worst)
    assert {name: value["raw"] for name, value in scored.items() if name != "pain_intensity"} == {
        "physical_function": 4,
        "anxiety": 20,
        "depression": 20,
        "fatigue": 20,
        "sleep_disturbance": 20,
        "social_roles": 4,
        "pain_interference": 20,
    }
    assert scored["physical_function"]["t_score"] == 22.5
    assert scored["social_roles"]["t_score"] == 27.5
    assert scored["sleep_disturbance"]["t_score"] == 73.3


def test_it_returns_the_published_score_keys_in_order():
    assert list(promis29.score(all_items())) == [
        "physical_function",
        "anxiety",
        "depression",
        "fatigue",
        "sleep_disturbance",
        "social_roles",
        "pain_interference",
        "pain_intensity",
    ]
