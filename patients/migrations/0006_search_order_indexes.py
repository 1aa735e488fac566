"""Indexes for the list order and the patient search at any size (patients/search.py).

`patient_name_key` is the list order itself (family key, given key, id), so the list and a
family-name prefix read one ordered range and stop at the page; `patient_given_key` serves a
given name in list order (given key first). Keys are UPPER(name), byte-wise (COLLATE "C")
on PostgreSQL, where the LIKE prefix becomes a range on them. The upper-name
text_pattern_ops indexes of 0002 served only the old OR, which never used them: dropped
(the MRN one stays, the MRN branch uses it). Built CONCURRENTLY: no write lock on a big
table.
"""

from django.db import migrations

PG_KEYS = {
    "patient_name_key": ('(UPPER(family_name) COLLATE "C")', '(UPPER(given_name) COLLATE "C")', "id"),
    "patient_given_key": ('(UPPER(given_name) COLLATE "C")', '(UPPER(family_name) COLLATE "C")', "id"),
}
OLD = ("patient_upper_family_name_like", "patient_upper_given_name_like")


def create(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    for name, columns in PG_KEYS.items():
        if not pg:
            columns = tuple(c.replace(' COLLATE "C"', "") for c in columns)
        concurrently = "CONCURRENTLY " if pg else ""
        schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {name} "
                              f"ON patients_patient ({', '.join(columns)})")
    if pg:
        for name in OLD:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def drop(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    for name in PG_KEYS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    if pg:
        for col in ("family_name", "given_name"):
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS patient_upper_{col}_like "
                                  f"ON patients_patient (UPPER({col}::text) text_pattern_ops)")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0005_plausible_dates")]
    operations = [migrations.RunPython(create, drop)]
