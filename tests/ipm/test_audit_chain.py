"""The audit chain detects every change (issue 16 §5): each attack first, then the check
that catches it."""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ipm.audit import _row_digest, audit_record, parse_checkpoint, seal_chain, verify_chain
from ipm.models import AuditEvent

from .test_audit import trigger_bypassed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = str(tmp_path / "audit-checkpoints.log")
    return settings.AUDIT_CHECKPOINT_FILE


def _rows(n, actor=None):
    return [audit_record(actor=actor, action="read", object_type="patients.patient",
                         object_id=str(i), patient_id=i) for i in range(n)]


def _seal(capture):
    """Seal and run the after-commit checkpoint as a real commit would."""
    with capture(execute=True):
        return seal_chain()


# --- A row committed late is still sealed ---------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_seals_a_row_whose_transaction_commits_after_a_later_row_was_sealed():
    inserted, release, errors = threading.Event(), threading.Event(), []

    def slow_request():
        try:
            with transaction.atomic():
                audit_record(action="read", object_type="patients.patient", object_id="slow")
                inserted.set()
                release.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=slow_request)
    worker.start()
    assert inserted.wait(10)
    prompt = audit_record(action="read", object_type="patients.patient", object_id="prompt")
    assert seal_chain() == 1  # only the committed row; the slow one is not visible yet
    release.set()
    worker.join(10)
    assert not errors
    slow = AuditEvent.objects.get(object_id="slow")
    assert slow.pk < prompt.pk  # its id is below the last sealed id...
    assert slow.seal_seq is None
    assert seal_chain() == 1  # ...and it is sealed all the same, after the head
    slow = AuditEvent.objects.get(object_id="slow")
    assert slow.seal_seq == 2
    verdict = verify_chain(grace_seconds=0)
    assert verdict.ok, verdict.problem
    assert verdict.checked == 2


@pytest.mark.django_db
def test_it_fails_verification_while_a_committed_row_stays_unsealed_past_the_grace():
    _rows(2)
    seal_chain()
    AuditEvent.objects.create(action="read", object_type="patients.patient", object_id="old",
                              at=timezone.now() - timedelta(hours=1))
    verdict = verify_chain()
    assert not verdict.ok
    assert "unsealed" in verdict.problem
    with pytest.raises(CommandError, match="still unsealed"):
        call_command("verify_audit_chain", "--no-seal")
    call_command("verify_audit_chain")  # sealing first takes it in
    assert AuditEvent.objects.get(object_id="old").seal_seq == 3


# --- Removing the newest rows, and rewriting the chain ---------------------------------------

@pytest.mark.django_db
def test_it_catches_the_newest_sealed_rows_deleted_against_the_checkpoint(
        django_capture_on_commit_callbacks, checkpoint_file, caplog):
    _rows(3)
    with caplog.at_level("INFO", logger="ipm.audit"):
        assert _seal(django_capture_on_commit_callbacks) == 3
    head = AuditEvent.objects.get(seal_seq=3)
    logged = [r.getMessage() for r in caplog.records if "audit-checkpoint" in r.getMessage()]
    assert logged and f"seq=3 hash={head.hash}" in logged[-1]
    with open(checkpoint_file) as f:
        assert f"seq=3 hash={head.hash}" in f.read().splitlines()[-1]

    with trigger_bypassed(), connection.cursor() as cur:
        cur.execute("DELETE FROM ipm_auditevent WHERE seal_seq >= 2")
    assert verify_chain().ok  # a shorter chain is a valid chain: only the checkpoint knows

    verdict = verify_chain(checkpoint=parse_checkpoint(checkpoint_file))
    assert not verdict.ok
    assert "newest sealed rows were removed" in verdict.problem
    for value in (checkpoint_file, logged[-1], f"3:{head.hash}"):
        with pytest.raises(CommandError, match="newest sealed rows were removed"):
            call_command("verify_audit_chain", "--no-seal", "--checkpoint", value)


@pytest.mark.django_db
def test_the_checkpoint_option_alone_reads_the_configured_file(
        django_capture_on_commit_callbacks, checkpoint_file):
    _rows(2)
    _seal(django_capture_on_commit_callbacks)
    _rows(1)
    _seal(django_capture_on_commit_callbacks)
    assert parse_checkpoint(checkpoint_file)[0] == 3
    call_command("verify_audit_chain", "--checkpoint")
    with connection.cursor() as cur:  # a truncated trail (no row trigger fires on TRUNCATE)
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush this test's deferred FK checks
            cur.execute("TRUNCATE ipm_auditevent")
        else:
            cur.execute("DELETE FROM ipm_auditevent")
    with pytest.raises(CommandError, match="newest sealed rows were removed"):
        call_command("verify_audit_chain", "--checkpoint")


@pytest.mark.django_db
def test_it_catches_an_edited_row_with_every_later_hash_recomputed(
        django_capture_on_commit_callbacks, checkpoint_file):
    _rows(3)
    _seal(django_capture_on_commit_callbacks)
    checkpoint = parse_checkpoint(checkpoint_file)

    def rewrite(key: bytes):
        rows = list(AuditEvent.objects.order_by("seal_seq"))
        prev = rows[0].hash
        with trigger_bypassed(), connection.cursor() as cur:
            cur.execute("UPDATE ipm_auditevent SET actor_username = 'mallory' WHERE id = %s",
                        [rows[1].pk])
            for ev in AuditEvent.objects.filter(seal_seq__gte=2).order_by("seal_seq"):
                prev = _row_digest(prev, ev.seal_seq, ev, key)
                cur.execute("UPDATE ipm_auditevent SET hash = %s WHERE id = %s", [prev, ev.pk])
        return rows[1].pk

    # The database's writer does not hold the key: the re-hashed chain does not verify.
    edited = rewrite(b"the attacker's best guess at the key")
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.bad_id == edited
    with pytest.raises(CommandError, match="altered or re-hashed"):
        call_command("verify_audit_chain", "--no-seal")

    # Even with the key stolen, the head no longer matches the checkpoint kept outside.
    from django.conf import settings

    rewrite(settings.AUDIT_HMAC_KEY.encode())
    assert verify_chain().ok
    verdict = verify_chain(checkpoint=checkpoint)
    assert not verdict.ok
    assert "rewritten" in verdict.problem


@pytest.mark.django_db
def test_a_chain_sealed_with_another_key_does_not_verify(settings):
    _rows(2)
    seal_chain()
    assert verify_chain().ok
    settings.AUDIT_HMAC_KEY = "another-key-entirely-0123456789abcdef"
    assert not verify_chain().ok


# --- PostgreSQL refuses edits through the app's own role ------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_raw_sql_edits_and_deletes_of_audit_rows():
    sealed, unsealed = _rows(2)
    assert seal_chain() == 2
    unsealed = audit_record(action="read", object_type="patients.patient", object_id="new")
    attacks = [
        ("UPDATE ipm_auditevent SET actor_username = 'mallory' WHERE id = %s", [sealed.pk]),
        ("UPDATE ipm_auditevent SET detail = '{}'::jsonb WHERE id = %s", [unsealed.pk]),
        ("DELETE FROM ipm_auditevent WHERE id = %s", [sealed.pk]),
        ("DELETE FROM ipm_auditevent WHERE id = %s", [unsealed.pk]),
        ("UPDATE ipm_auditevent SET hash = %s WHERE id = %s", ["0" * 64, sealed.pk]),
        ("UPDATE ipm_auditevent SET seal_seq = NULL, hash = '' WHERE id = %s", [sealed.pk]),
        ("UPDATE ipm_auditevent SET seal_seq = 3, hash = %s, patient_id = 7 WHERE id = %s",
         ["a" * 64, unsealed.pk]),
    ]
    for sql, params in attacks:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql, params)
    assert AuditEvent.objects.count() == 3
    assert seal_chain() == 1  # the one write the trigger allows: sealing, once
    verdict = verify_chain(grace_seconds=0)
    assert verdict.ok and verdict.checked == 3


# --- Settings --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "too-short"])
def test_production_settings_refuse_to_start_without_a_real_audit_key(tmp_path, key):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ipm.settings.production",
           "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "ipm.example.org",
           "IPM_VAR_DIR": str(tmp_path)}
    env.pop("AUDIT_HMAC_KEY", None)
    if key:
        env["AUDIT_HMAC_KEY"] = key
    r = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "AUDIT_HMAC_KEY" in r.stderr
