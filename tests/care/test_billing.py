"""The billing rules, worked by hand from billing_codes.json (CMS MLN909432, MLN909188)."""

import json
from pathlib import Path

import pytest

from care.billing import CodeRule, add_on_units, codes_met

DATA = json.loads((Path(__file__).resolve().parents[2] / "care/data/billing_codes.json")
                  .read_text())


def _rules():
    return [CodeRule(code=c["code"], family=c["family"], month=c.get("month", ""),
                     min_minutes=c.get("min_minutes"), covers_minutes=c.get("covers_minutes"),
                     add_on_to=tuple(c.get("add_on_to", ())),
                     min_additional_minutes=c.get("min_additional_minutes"),
                     unit_minutes=c.get("unit_minutes"), max_units=c.get("max_units"))
            for c in DATA["codes"]]


def _billed(minutes, first):
    return {f.family: str(f) for f in codes_met(minutes, first_month=first, rules=_rules())}


# (minutes, first care-management month?, {family: codes})
CASES = [
    (0, True, {}),
    (15, True, {}),                                   # under every threshold
    (16, True, {"cocm": "G2214"}),                    # 99492 needs 36: G2214 only
    (19, False, {"cocm": "G2214"}),
    (20, True, {"cocm": "G2214", "bhi": "99484", "ccm": "99490"}),
    (30, False, {"cocm": "G2214", "bhi": "99484", "ccm": "99490"}),
    (31, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490"}),   # subsequent month
    (31, True, {"cocm": "G2214", "bhi": "99484", "ccm": "99490"}),    # first month needs 36
    (35, True, {"cocm": "G2214", "bhi": "99484", "ccm": "99490"}),
    (36, True, {"cocm": "99492", "bhi": "99484", "ccm": "99490"}),
    (39, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490"}),
    (40, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490 + 99439"}),  # 20 beyond 20
    (59, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490 + 99439"}),
    (60, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
    (75, False, {"cocm": "99493", "bhi": "99484", "ccm": "99490 + 99439 x2"}),   # 15 beyond 60
    (76, False, {"cocm": "99493 + 99494", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
    (85, True, {"cocm": "99492", "bhi": "99484", "ccm": "99490 + 99439 x2"}),    # 15 beyond 70
    (86, True, {"cocm": "99492 + 99494", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
    (105, False, {"cocm": "99493 + 99494", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
    (106, False, {"cocm": "99493 + 99494 x2", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
    (200, False, {"cocm": "99493 + 99494 x5", "bhi": "99484", "ccm": "99490 + 99439 x2"}),
]


@pytest.mark.parametrize(("minutes", "first", "expected"), CASES)
def test_it_lists_every_family_whose_thresholds_the_month_meets(minutes, first, expected):
    assert _billed(minutes, first) == expected


@pytest.mark.parametrize(("extra", "units"), [(0, 0), (15, 0), (16, 1), (45, 1), (46, 2), (76, 3)])
def test_it_counts_99494_units_by_the_more_than_half_time_rule(extra, units):
    rule = next(r for r in _rules() if r.code == "99494")
    assert add_on_units(rule, extra) == units


def test_it_caps_99439_at_two_units():
    rule = next(r for r in _rules() if r.code == "99439")
    assert [add_on_units(rule, extra) for extra in (19, 20, 40, 100)] == [0, 1, 2, 2]


def test_it_prefers_the_month_specific_base_code_over_an_any_month_code():
    rules = [CodeRule("B1", "x", "subsequent", 30), CodeRule("B2", "x", "any", 10)]
    assert [str(f) for f in codes_met(30, first_month=False, rules=rules)] == ["B1"]
    assert [str(f) for f in codes_met(30, first_month=True, rules=rules)] == ["B2"]
