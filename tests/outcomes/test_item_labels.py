"""outcomes.item_labels: another app words an instrument's items for one patient."""

import pytest

from outcomes import item_labels
from outcomes.forms import instrument_fields


@pytest.fixture
def peg_labels():
    saved = dict(item_labels._PROVIDERS)
    item_labels.register("peg", lambda patient: {"q1": f"Pain for {patient}", "q2": None})
    yield
    item_labels._PROVIDERS.clear()
    item_labels._PROVIDERS.update(saved)


def test_it_words_items_for_the_patient_and_keeps_required_ones(peg_labels):
    labels = item_labels.labels_for("peg", "Robin")
    items = instrument_fields("peg", texts=labels)["items"]
    assert items[0]["text"] == "Pain for Robin"
    assert len(items) == 3  # q2 is required: a None label cannot hide it


def test_it_hides_an_optional_item_without_a_label(peg_labels):
    items = instrument_fields("phq9", texts={"q10": None})["items"]
    assert [i["key"] for i in items][-1] == "q9"
    assert item_labels.labels_for("gad7", "Robin") == {}
