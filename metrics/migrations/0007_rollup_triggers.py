"""Triggers that queue, in the writer's own transaction, the patient of every row the
metrics roll-ups are built from (metrics/rollups.py): responses, intakes, attendance, group
sessions (their attendees), referrals and their events, and the patient rows themselves.

Statement-level with transition tables: a bulk load (COPY of a million responses) queues
each patient once per statement instead of firing per row. PostgreSQL only: on SQLite the
metrics always read live.
"""

from django.db import migrations

# table -> (SQL selecting the patient ids from a transition table named {rows})
SOURCES = {
    "outcomes_questionnaireresponse": "SELECT patient_id FROM {rows}",
    "patients_intake": "SELECT patient_id FROM {rows}",
    "visits_attendance": "SELECT patient_id FROM {rows}",
    "referrals_referral": "SELECT patient_id FROM {rows}",
    "patients_patient": "SELECT id FROM {rows}",
    "referrals_referralevent": ("SELECT r.patient_id FROM {rows} e "
                                "JOIN referrals_referral r ON r.id = e.referral_id"),
    "visits_groupsession": ("SELECT a.patient_id FROM {rows} s "
                            "JOIN visits_attendance a ON a.session_id = s.id"),
}
EVENTS = {"insert": ("NEW",), "update": ("NEW", "OLD"), "delete": ("OLD",)}


def _function(table: str, event: str) -> str:
    selects = " UNION ".join(SOURCES[table].format(rows=f"{side.lower()}_rows")
                             for side in EVENTS[event])
    return (f"CREATE OR REPLACE FUNCTION metrics_queue_{table}_{event}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO metrics_changedpatient (patient_id) "
            f"SELECT DISTINCT q.id FROM ({selects}) AS q(id) WHERE q.id IS NOT NULL; "
            f"RETURN NULL; END $$")


def _trigger(table: str, event: str) -> str:
    tables = " ".join(f"{side} TABLE AS {side.lower()}_rows" for side in EVENTS[event])
    return (f"CREATE TRIGGER metrics_queue_{event} AFTER {event.upper()} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION metrics_queue_{table}_{event}()")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SOURCES:
        for event in EVENTS:
            schema_editor.execute(_function(table, event))
            schema_editor.execute(f"DROP TRIGGER IF EXISTS metrics_queue_{event} ON {table}")
            schema_editor.execute(_trigger(table, event))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SOURCES:
        for event in EVENTS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS metrics_queue_{event} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS metrics_queue_{table}_{event}()")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0006_rollup_queue"),
        ("outcomes", "0005_metrics_indexes"),
        ("patients", "0010_rollup_queue"),
        ("referrals", "0007_rollup_queue"),
        ("visits", "0006_rollup_queue"),
    ]
    operations = [migrations.RunPython(create, drop)]
