"""Indexes for the patient search (name or MRN prefix, case-insensitive).

Django's `istartswith` becomes `UPPER(col) LIKE 'X%'`; on PostgreSQL only an expression
index with text_pattern_ops serves that (checked with EXPLAIN at 100k patients: 132 ms
sequential filter → well under a millisecond). SQLite needs none of this.
"""

from django.db import migrations

COLUMNS = ("mrn", "family_name", "given_name")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for col in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS patient_upper_{col}_like "
            f"ON patients_patient (UPPER({col}::text) text_pattern_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for col in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS patient_upper_{col}_like")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
