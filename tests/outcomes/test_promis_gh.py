"""PROMIS Global Health v1.2 scoring (Hays et al., Qual Life Res 2009; PROMIS Global tables).

``GPH``/``GMH`` are typed from the published raw -> T/SE tables (identical in Stanford CHOIR's
GlobalHealthScore.java, awell-score promis_10 and Hays' derivation notes, GMH raw 4 = 21.2).
"""

import pytest

from outcomes.instruments import get, promis_gh, spec

GPH = {
    4: (16.2, 4.8), 5: (19.9, 4.7), 6: (23.5, 4.5), 7: (26.7, 4.3), 8: (29.6, 4.2),
    9: (32.4, 4.2), 10: (34.9, 4.1), 11: (37.4, 4.1), 12: (39.8, 4.1), 13: (42.3, 4.2),
    14: (44.9, 4.3), 15: (47.7, 4.4), 16: (50.8, 4.6), 17: (54.1, 4.7), 18: (57.7, 4.9),
    19: (61.9, 5.2), 20: (67.7, 5.9),
}  # fmt: skip
GMH = {
    4: (21.2, 4.6), 5: (25.1, 4.1), 6: (28.4, 3.9), 7: (31.3, 3.7), 8: (33.8, 3.7),
    9: (36.3, 3.7), 10: (38.8, 3.6), 11: (41.1, 3.6), 12: (43.5, 3.6), 13: (45.8, 3.6),
    14: (48.3, 3.7), 15: (50.8, 3.7), 16: (53.3, 3.7), 17: (56.0, 3.8), 18: (59.0, 3.9),
    19: (62.5, 4.2), 20: (67.6, 5.3),
}  # fmt: skip

# Global07 (pain 0-10) -> Global07rc, as published: 0->5, 1-3->4, 4-6->3, 7-9->2, 10->1.
PAIN_RECODE = {0: 5, 1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 7: 2, 8: 2, 9: 2, 10: 1}
# Pain values whose recode is 5, 4, 3, 2, 1 (to build a GPH raw sum).
PAIN_FOR_RECODE = {5: 0, 4: 2, 3: 5, 2: 8, 1: 10}

GPH_ITEMS = ("Global03", "Global06", "Global07", "Global08")
GMH_ITEMS = ("Global02", "Global04", "Global05", "Global10")


def values_summing_to(raw: int) -> list[int]:
    values = [1, 1, 1, 1]
    extra = raw - 4
    for i in range(4):
        values[i] += min(extra, 4)
        extra -= values[i] - 1
    return values


def answers(gph_raw: int = 12, gmh_raw: int = 12, global01: int = 3, global09: int = 3) -> dict:
    g03, g06, rc07, g08 = values_summing_to(gph_raw)
    g02, g04, g05, g10 = values_summing_to(gmh_raw)
    return {
        "Global01": global01,
        "Global02": g02,
        "Global03": g03,
        "Global04": g04,
        "Global05": g05,
        "Global06": g06,
        "Global07": PAIN_FOR_RECODE[rc07],
        "Global08": g08,
        "Global09": global09,
        "Global10": g10,
    }


def test_it_keeps_the_published_tables_and_item_lists_in_the_data_file():
    scoring = spec("promis_gh")["scoring"]
    for name, table, items in (("gph", GPH, GPH_ITEMS), ("gmh", GMH, GMH_ITEMS)):
        rows = scoring[name]["t_score_table"]
        assert {int(raw): (row["t_score"], row["se"]) for raw, row in rows.items()} == table
        assert tuple(scoring[name]["items"]) == items


@pytest.mark.parametrize("raw", range(4, 21))
def test_it_looks_up_every_gph_row(raw):
    t_score, se = GPH[raw]
    assert promis_gh.score(answers(gph_raw=raw))["gph"] == {
        "raw": raw,
        "t_score": t_score,
        "se": se,
    }


@pytest.mark.parametrize("raw", range(4, 21))
def test_it_looks_up_every_gmh_row(raw):
    t_score, se = GMH[raw]
    assert promis_gh.score(answers(gmh_raw=raw))["gmh"] == {
        "raw": raw,
        "t_score": t_score,
        "se": se,
    }


@pytest.mark.parametrize(("pain", "recoded"), sorted(PAIN_RECODE.items()))
def test_it_recodes_pain_before_adding_it_to_gph(pain, recoded):
    given = answers(gph_raw=20) | {"Global07": pain}  # Global03/06/08 at 5 each = 15
    raw = 15 + recoded
    assert promis_gh.score(given)["gph"] == {"raw": raw, "t_score": GPH[raw][0], "se": GPH[raw][1]}


@pytest.mark.parametrize("key", ["Global01", "Global09"])
@pytest.mark.parametrize("value", [1, 5])
def test_it_does_not_sum_global01_or_global09(key, value):
    assert promis_gh.score(answers() | {key: value}) == promis_gh.score(answers())


def test_it_sums_v12_fatigue_and_emotional_problems_as_stored():
    options = {
        key: {o.label: o.value for o in get("promis_gh").item(key).options}
        for key in ("Global08", "Global10")
    }
    assert options["Global08"] == {
        "None": 5,
        "Mild": 4,
        "Moderate": 3,
        "Severe": 2,
        "Very severe": 1,
    }
    assert options["Global10"] == {"Never": 5, "Rarely": 4, "Sometimes": 3, "Often": 2, "Always": 1}
    best = {
        key: 5 for key in ("Global01", "Global02", "Global03", "Global04", "Global05", "Global06")
    }
    best |= {"Global07": 0, "Global08": options["Global08"]["None"], "Global09": 5}
    best |= {"Global10": options["Global10"]["Never"]}
    assert promis_gh.score(best) == {
        "gph": {"raw": 20, "t_score": 67.7, "se": 5.9},
        "gmh": {"raw": 20, "t_score": 67.6, "se": 5.3},
    }


# Worked examples from awell-score's promis_10 tests (independent implementation of the tables).
@pytest.mark.parametrize(
    ("given", "gph_t", "gmh_t"),
    [
        ({"all": 1, "Global07": 10}, 16.2, 21.2),  # worst: both raw 4
        ({"all": 5, "Global07": 0}, 67.7, 67.6),  # best: both raw 20
        ({"all": 3, "Global07": 5}, 39.8, 43.5),  # median: both raw 12
    ],
)
def test_it_reproduces_the_published_extreme_and_median_examples(given, gph_t, gmh_t):
    answers_ = {f"Global{i:02d}": given["all"] for i in range(1, 11)} | {
        "Global07": given["Global07"]
    }
    scored = promis_gh.score(answers_)
    assert (scored["gph"]["t_score"], scored["gmh"]["t_score"]) == (gph_t, gmh_t)


def test_it_reproduces_the_raw_9_and_6_example():
    scored = promis_gh.score(answers(gph_raw=9, gmh_raw=6))
    assert (scored["gph"]["t_score"], scored["gmh"]["t_score"]) == (32.4, 28.4)
