"""The default billing-code table (every program's defaults: no program), from
care/data/billing_codes.json. Data migration 0002 writes it once; `post_migrate` puts it back
when the table has no defaults again (after a test database flush, or a fresh `flush`),
without touching rows an administrator edited or a program's own table."""

import json
from pathlib import Path

from .models import BillingCode

DEFAULTS_FILE = Path(__file__).resolve().parent / "data" / "billing_codes.json"
FIELDS = ("code", "family", "description", "month", "min_minutes", "covers_minutes",
          "add_on_to", "min_additional_minutes", "unit_minutes", "max_units", "source")


def default_billing_codes_ensure(sender=None, **kwargs) -> None:
    if BillingCode.objects.filter(program__isnull=True).exists():
        return
    rows = json.loads(DEFAULTS_FILE.read_text())["codes"]
    BillingCode.objects.bulk_create([
        BillingCode(program=None, **{f: row[f] for f in FIELDS if f in row}) for row in rows])
