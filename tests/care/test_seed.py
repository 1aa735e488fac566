"""The default billing codes come back after a database flush (post_migrate), as the ones
data migration 0002 wrote, and an edited table is left alone."""

import json
from pathlib import Path

import pytest

from care.apps import ensure_billing_codes as default_billing_codes_ensure
from care.models import BillingCode

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "care" / "data" / "billing_codes.json"

pytestmark = pytest.mark.django_db


def _table():
    return sorted(BillingCode.objects.filter(program__isnull=True).values_list(
        "code", "family", "month", "min_minutes", "covers_minutes", "add_on_to",
        "min_additional_minutes", "unit_minutes", "max_units"))


def test_an_emptied_default_table_is_put_back_as_the_migration_wrote_it():
    migrated = _table()
    assert len(migrated) == len(json.loads(DEFAULTS_FILE.read_text())["codes"])
    BillingCode.objects.all().delete()  # what a test database flush leaves
    default_billing_codes_ensure()
    assert _table() == migrated


def test_an_edited_default_table_is_left_alone():
    BillingCode.objects.filter(code="99492").update(min_minutes=40)
    BillingCode.objects.filter(code="99439").delete()
    before = _table()
    default_billing_codes_ensure()
    assert _table() == before
