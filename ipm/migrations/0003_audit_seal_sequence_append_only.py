"""Audit trail (issue 16 §5 and §3): a seal sequence, masked paths, and an append-only table.

1. `seal_seq`: rows are chained in the order they are sealed, not by id, so a row whose
   transaction commits after a later id was sealed is still sealed (ipm.audit.seal_chain).
2. Rows written before this migration were chained with a plain SHA-256 in id order: their
   hashes are cleared and the next seal re-chains them with the keyed HMAC. Link tokens in
   their stored paths (`/q/<token>/`, `/reminders/stop/<token>/`) are masked first.
3. On PostgreSQL a row trigger refuses DELETE and every UPDATE except the one sealing write
   (`seal_seq` and `hash` from unset to set, nothing else changed), so raw SQL through the
   app's own role cannot edit the trail. TRUNCATE (the test runner's flush) is untouched:
   the checkpoint kept outside the database catches a truncated trail.
"""

import re

from django.db import migrations, models

_TOKEN_PATH = re.compile(r"(/q/|/reminders/stop/)[^/?#\s\"'<>]+")

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION ipm_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ipm_auditevent is append-only: DELETE of row % refused', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
       AND OLD.hash = '' AND NEW.hash <> ''
       AND (to_jsonb(NEW) - 'seal_seq' - 'hash') = (to_jsonb(OLD) - 'seal_seq' - 'hash') THEN
        RETURN NEW;  -- the one sealing write
    END IF;
    RAISE EXCEPTION 'ipm_auditevent is append-only: UPDATE of row % refused', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
DROP TRIGGER IF EXISTS ipm_auditevent_append_only ON ipm_auditevent;
CREATE TRIGGER ipm_auditevent_append_only
    BEFORE UPDATE OR DELETE ON ipm_auditevent
    FOR EACH ROW EXECUTE FUNCTION ipm_auditevent_append_only();
"""

DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS ipm_auditevent_append_only ON ipm_auditevent;
DROP FUNCTION IF EXISTS ipm_auditevent_append_only();
"""


def reset_chain_and_mask_paths(apps, schema_editor):
    AuditEvent = apps.get_model("ipm", "AuditEvent")
    rows = AuditEvent.objects.filter(
        models.Q(path__contains="/q/") | models.Q(path__contains="/reminders/stop/"))
    for pk, path in rows.values_list("pk", "path").iterator():
        AuditEvent.objects.filter(pk=pk).update(path=_TOKEN_PATH.sub(r"\1***", path))
    AuditEvent.objects.exclude(hash="").update(hash="")


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("ipm", "0002_queuedtask"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="seal_seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunPython(reset_chain_and_mask_paths, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("seal_seq__isnull", True)), fields=["id"],
                               name="audit_unsealed"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("hash", ""), ("seal_seq__isnull", True)),
                    models.Q(("seal_seq__gt", 0), models.Q(("hash", ""), _negated=True)),
                    _connector="OR"),
                name="audit_seal_fields_together"),
        ),
        migrations.RunPython(install_trigger, drop_trigger),
    ]
