"""Net Promoter Score (Reichheld, HBR 2003): detractor 0-6, passive 7-8, promoter 9-10."""

import pytest

from outcomes.instruments import nps

CATEGORY = {
    0: "detractor", 1: "detractor", 2: "detractor", 3: "detractor", 4: "detractor",
    5: "detractor", 6: "detractor", 7: "passive", 8: "passive", 9: "promoter", 10: "promoter",
}  # fmt: skip


@pytest.mark.parametrize(("answer", "category"), sorted(CATEGORY.items()))
def test_it_categorises_every_answer(answer, category):
    assert nps.score({"q1": answer}) == {"score": answer, "category": category}


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["promoter"] * 5 + ["passive"] * 3 + ["detractor"] * 2, 30.0),
        (["detractor"] * 4, -100.0),
        (["promoter"], 100.0),
        (["passive", "passive"], 0.0),
        (["promoter", "promoter", "detractor"], 33.3),  # 33.33...
        (["promoter", "detractor", "detractor"], -33.3),
        (["promoter"] * 2 + ["passive"], 66.7),  # 66.66... rounds half-up
        ([], None),
    ],
)
def test_it_computes_the_program_nps(categories, expected):
    assert nps.program_nps(categories) == expected
