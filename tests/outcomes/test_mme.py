"""MME per the CDC Clinical Practice Guideline for Prescribing Opioids for Pain (MMWR 2022;71(3)).

Factors and worked examples typed from the guideline's MME table; regimen totals worked out by
hand.
"""

from decimal import Decimal

import pytest

from outcomes.mme import OPIOIDS, UnknownOpioid, daily_mme, mme_flags, total_mme

CDC_2022_FACTORS = {
    "codeine": "0.15",
    "fentanyl_transdermal": "2.4",
    "hydrocodone": "1",
    "hydromorphone": "5",
    "methadone": "4.7",
    "morphine": "1",
    "oxycodone": "1.5",
    "oxymorphone": "3",
    "tapentadol": "0.4",
    "tramadol": "0.2",
}


def test_it_lists_the_cdc_2022_factors_and_buprenorphine_without_one():
    assert {code: o.factor for code, o in OPIOIDS.items() if o.factor is not None} == {
        code: Decimal(factor) for code, factor in CDC_2022_FACTORS.items()
    }
    assert OPIOIDS["buprenorphine"].factor is None
    display, factor, unit = OPIOIDS["fentanyl_transdermal"]
    assert (factor, unit) == (Decimal("2.4"), "mcg/h")
    assert all(o.unit == "mg" for code, o in OPIOIDS.items() if code != "fentanyl_transdermal")


@pytest.mark.parametrize(
    ("drug", "expected"),
    [
        ("codeine", "3.0"),  # 10 mg x 2 = 20 mg x 0.15
        ("hydrocodone", "20.0"),
        ("hydromorphone", "100.0"),
        ("methadone", "94.0"),
        ("morphine", "20.0"),
        ("oxycodone", "30.0"),
        ("oxymorphone", "60.0"),
        ("tapentadol", "8.0"),
        ("tramadol", "4.0"),
    ],
)
def test_it_converts_ten_mg_twice_a_day_for_each_drug(drug, expected):
    result = daily_mme(drug, 10, 2)
    assert result == Decimal(expected)
    assert isinstance(result, Decimal)


@pytest.mark.parametrize(("mcg_per_hour", "expected"), [(12, "28.8"), (25, "60.0"), (100, "240.0")])
def test_it_converts_a_fentanyl_patch_from_its_hourly_rate_ignoring_doses_per_day(
    mcg_per_hour, expected
):
    assert daily_mme("fentanyl_transdermal", mcg_per_hour, 3) == Decimal(expected)
    assert daily_mme("fentanyl_transdermal", mcg_per_hour) == Decimal(expected)


def test_it_reproduces_the_guideline_worked_examples():
    assert daily_mme("hydrocodone", 5, 4) == Decimal("20.0")  # 5 mg four times a day
    assert daily_mme("oxycodone", 10, 2) == Decimal("30.0")  # ER 10 mg twice a day


def test_it_returns_none_for_buprenorphine():
    assert daily_mme("buprenorphine", 8, 2) is None


@pytest.mark.parametrize(
    ("drug", "dose", "per_day", "expected"),
    [
        ("codeine", 15, 1, "2.3"),  # 2.25 rounds half up
        ("methadone", "2.5", 1, "11.8"),  # 11.75
        ("tramadol", "37.5", 1, "7.5"),
        ("oxycodone", "2.5", 1, "3.8"),  # 3.75
        ("morphine", 0.1, 3, "0.3"),  # float input stays decimal
        ("oxycodone", 0, 4, "0.0"),
    ],
)
def test_it_rounds_half_up_to_one_decimal(drug, dose, per_day, expected):
    assert daily_mme(drug, dose, per_day) == Decimal(expected)


def test_it_totals_a_mixed_regimen_worked_out_by_hand():
    lines = [
        ("oxycodone", 5, 4),  # 20 mg x 1.5 = 30
        ("fentanyl_transdermal", 12, 1),  # 12 mcg/h x 2.4 = 28.8
        {"drug": "tramadol", "dose": 50, "doses_per_day": 3},  # 150 mg x 0.2 = 30
        ("codeine", 15),  # 15 mg x 0.15 = 2.25
        ("buprenorphine", 2, 2),  # not converted
    ]
    assert total_mme(lines) == Decimal("91.1")  # 91.05 rounds half up
    assert mme_flags(total_mme(lines)) == ["mme_50", "mme_90"]


def test_it_rounds_the_total_once_rather_than_summing_rounded_lines():
    assert total_mme([("codeine", 15, 1), ("codeine", 15, 1)]) == Decimal("4.5")  # not 2.3 + 2.3


def test_it_totals_nothing_as_zero():
    assert total_mme([]) == Decimal("0.0")
    assert total_mme([("buprenorphine", 8, 1)]) == Decimal("0.0")


@pytest.mark.parametrize(
    ("total", "flags"),
    [
        (Decimal("0"), []),
        (Decimal("49.9"), []),
        (Decimal("50.0"), ["mme_50"]),
        (50, ["mme_50"]),
        (Decimal("89.9"), ["mme_50"]),
        (Decimal("90.0"), ["mme_50", "mme_90"]),
        (240, ["mme_50", "mme_90"]),
        (None, []),
    ],
)
def test_it_flags_the_50_and_90_mme_thresholds(total, flags):
    assert mme_flags(total) == flags


def test_it_rejects_unknown_drugs():
    with pytest.raises(UnknownOpioid):
        daily_mme("heroin", 10, 1)
    with pytest.raises(KeyError):
        total_mme([("Oxycodone", 10, 1)])


@pytest.mark.parametrize("bad", [-1, "-5", "ten", True, float("nan"), float("inf"), None, [10]])
def test_it_rejects_bad_doses(bad):
    with pytest.raises(ValueError):
        daily_mme("morphine", bad, 1)
    with pytest.raises(ValueError):
        daily_mme("morphine", 10, bad)


# --- Parsing typed doses: one parser, one rounding rule (half up) -----------------------------

@pytest.mark.parametrize(("typed", "parsed"), [
    ("12.25", Decimal("12.3")),     # half up, not to even (12.2)
    ("12.35", Decimal("12.4")),
    (12.45, Decimal("12.5")),       # a float goes through str: 12.45 stays 12.45
    (" 40 ", Decimal("40.0")),
    ("0", Decimal("0.0")),
    (0, Decimal("0.0")),
    ("100000", Decimal("100000.0")),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_it_parses_a_typed_mme_rounding_half_up_to_one_decimal(typed, parsed):
    from outcomes.mme import parse_mme

    assert parse_mme(typed) == parsed


@pytest.mark.parametrize(("typed", "message"), [
    ("-3", "MME must be greater than or equal to 0."),
    ("100000.1", "MME must be at most 100000."),
    ("forty", "MME must be a number, e.g. 40 or 12.5."),
    ("nan", "MME must be a number, e.g. 40 or 12.5."),
    (True, "MME must be a number, e.g. 40 or 12.5."),
    ([40], "MME must be a number, e.g. 40 or 12.5."),
])
def test_it_refuses_a_typed_mme_with_a_message_for_the_user(typed, message):
    from outcomes.mme import InvalidAmount, parse_mme

    with pytest.raises(InvalidAmount) as excinfo:
        parse_mme(typed)
    assert str(excinfo.value) == message


def test_it_parses_doses_above_zero_to_two_decimals_half_up():
    from outcomes.mme import InvalidAmount, parse_amount

    assert parse_amount("0.125") == Decimal("0.13")
    with pytest.raises(InvalidAmount, match="The dose must be above 0."):
        parse_amount("0")
    with pytest.raises(InvalidAmount, match="The dose must be a number"):
        parse_amount("")


@pytest.mark.django_db
def test_every_entry_point_rounds_an_mme_the_same_way(patient, clinician, api):
    """The intake API, a medication review total and the review page all give 12.3 for 12.25."""
    from django.test import Client

    from outcomes.models import MedicationReview
    from outcomes.services import medication_review_create

    NO_FLAGS = {k: False for k in ("cauda_equina", "cancer_history", "fever_or_infection",
                                   "significant_trauma", "unexplained_weight_loss",
                                   "progressive_neuro_deficit")}
    low_risk = {f"q{i}": 0 for i in range(1, 10)}
    r = api.post(f"/api/patients/{patient.pk}/intake/",
                 {"red_flags": NO_FLAGS, "startback": low_risk, "mme": "12.25"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["mme"] == 12.3
    review = medication_review_create(patient=patient, total_mme="12.25", actor=clinician)
    assert review.total_mme == Decimal("12.3")
    client = Client()
    client.force_login(clinician)
    r = client.post(f"/patients/{patient.pk}/medications/new/",
                    {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "total_mme": "12.25"})
    assert r.status_code == 302
    assert MedicationReview.objects.latest("pk").total_mme == Decimal("12.3")
