"""The MRN prefix as a byte-wise key (patients/search.py), like the name keys of 0006: one
index serves both the prefix (a range on the key) and reading the matches in key order, so
counting the matches stops at the paginator's cap wherever in the table they are. It
replaces 0002's text_pattern_ops index on UPPER(mrn), which could only filter. Built
CONCURRENTLY: no write lock on a big table."""

from django.db import migrations


def create(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    key = '(UPPER(mrn) COLLATE "C")' if pg else "UPPER(mrn)"
    concurrently = "CONCURRENTLY " if pg else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS patient_mrn_key "
                          f"ON patients_patient ({key}, id)")
    if pg:
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS patient_upper_mrn_like")
        # An expression index has no statistics until ANALYZE: without them the planner
        # guesses the prefix matches many rows and walks the name index instead.
        schema_editor.execute("ANALYZE patients_patient")


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS patient_mrn_key")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS patient_upper_mrn_like "
                              "ON patients_patient (UPPER(mrn::text) text_pattern_ops)")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0008_metrics_period_indexes")]
    operations = [migrations.RunPython(create, drop)]
