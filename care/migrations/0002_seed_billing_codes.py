"""Seed the default billing-code table (every program's defaults: no program) from
care/data/billing_codes.json as it stood when this was written (copied here: migrations must
not read files that may change later). Sources: CMS MLN909432 and MLN909188."""

from django.db import migrations

MLN_BHI = "CMS MLN909432 Behavioral Health Integration Services"
DEFAULTS = [
    # code, family, description, month, min, covers, add_on_to, min_additional, unit, max_units, source
    ("99492", "cocm", "Collaborative care, first month, first 70 minutes of care-manager time",
     "first", 36, 70, [], None, None, None,
     MLN_BHI + " (CPT time rule: billable once more than half the time, 36 minutes, is met)"),
    ("99493", "cocm", "Collaborative care, subsequent month, first 60 minutes",
     "subsequent", 31, 60, [], None, None, None, "CMS MLN909432"),
    ("99494", "cocm", "Collaborative care, each additional 30 minutes beyond 99492 or 99493",
     "", None, None, ["99492", "99493"], 16, 30, None, "CMS MLN909432"),
    ("G2214", "cocm", "Collaborative care, first or subsequent month, first 30 minutes "
                      "(when 99492/99493 are not met)",
     "any", 16, 30, [], None, None, None, "CMS MLN909432"),
    ("99484", "bhi", "General behavioural health integration, at least 20 minutes of clinical "
                     "staff time in the month",
     "any", 20, None, [], None, None, None, "CMS MLN909432"),
    ("99490", "ccm", "Chronic care management, first 20 minutes of clinical staff time in the "
                     "month",
     "any", 20, None, [], None, None, None, "CMS MLN909188 Chronic Care Management Services"),
    ("99439", "ccm", "Chronic care management, each additional 20 minutes beyond 99490 (at "
                     "most twice a month)",
     "", None, None, ["99490"], 20, 20, 2, "CMS MLN909188"),
]


def seed(apps, schema_editor):
    BillingCode = apps.get_model("care", "BillingCode")
    if BillingCode.objects.filter(program__isnull=True).exists():
        return
    BillingCode.objects.bulk_create([
        BillingCode(program=None, code=code, family=family, description=description,
                    month=month, min_minutes=min_minutes, covers_minutes=covers,
                    add_on_to=add_on_to, min_additional_minutes=min_additional,
                    unit_minutes=unit, max_units=max_units, source=source)
        for (code, family, description, month, min_minutes, covers, add_on_to, min_additional,
             unit, max_units, source) in DEFAULTS
    ])


def unseed(apps, schema_editor):
    apps.get_model("care", "BillingCode").objects.filter(program__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
