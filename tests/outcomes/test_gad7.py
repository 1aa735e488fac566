"""GAD-7 scoring (Spitzer et al., Arch Intern Med 2006): bands 0-4/5-9/10-14/15-21."""

import pytest

from outcomes.instruments import gad7

ITEMS = [f"q{i}" for i in range(1, 8)]


def answers_with_total(total: int) -> dict[str, int]:
    result = {}
    for key in ITEMS:
        result[key] = min(total, 3)
        total -= result[key]
    return result


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_it_applies_each_severity_band_boundary(total, severity):
    assert gad7.score(answers_with_total(total)) == {"total": total, "severity": severity}


@pytest.mark.parametrize("key", ITEMS)
def test_it_counts_every_item_equally(key):
    base = {item: 0 for item in ITEMS}
    assert gad7.score({**base, key: 3})["total"] == 3
