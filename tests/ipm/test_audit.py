import contextlib

import pytest
from django.db import connection

from ipm.audit import audit_record, seal_chain, verify_chain
from ipm.models import AuditEvent, AuditImmutable


@contextlib.contextmanager
def trigger_bypassed():
    """Tamper as a database superuser would: PostgreSQL's append-only trigger refuses the
    app's own edits (test_audit_chain.py), so these tests switch triggers off for the
    session, as only a superuser can, to show the chain still catches the edit."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SET session_replication_role = origin")


@pytest.mark.django_db
def test_it_refuses_to_change_or_delete_an_audit_row(clinician):
    ev = audit_record(actor=clinician, action="read", object_type="patients.patient",
                      object_id="1", patient_id=1)
    ev.action = "nothing happened"
    with pytest.raises(AuditImmutable):
        ev.save()
    with pytest.raises(AuditImmutable):
        ev.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=ev.pk).update(action="x")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=ev.pk).delete()


@pytest.mark.django_db
def test_it_detects_a_row_altered_in_sql(clinician):
    for i in range(3):
        audit_record(actor=clinician, action="read", object_type="patients.patient",
                     object_id=str(i), patient_id=i)
    assert seal_chain() == 3
    verdict = verify_chain()
    assert (verdict.ok, verdict.bad_id, verdict.checked) == (True, None, 3)
    middle = AuditEvent.objects.order_by("id")[1]
    with trigger_bypassed(), connection.cursor() as cur:
        cur.execute("UPDATE ipm_auditevent SET actor_username = %s WHERE id = %s",
                    ["mallory", middle.pk])
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.bad_id == middle.pk


@pytest.mark.django_db
def test_the_admin_cannot_edit_audit_rows(admin_user, client):
    from django.contrib.admin.sites import site

    admin_user.is_staff = True
    admin_user.save()
    model_admin = site._registry[AuditEvent]

    class R:
        user = admin_user

    assert not model_admin.has_change_permission(R())
    assert not model_admin.has_delete_permission(R())
    assert not model_admin.has_add_permission(R())


@pytest.mark.django_db
def test_the_verify_command_fails_on_a_tampered_chain(clinician):
    from django.core.management import CommandError, call_command

    for i in range(2):
        audit_record(actor=clinician, action="read", object_type="patients.patient",
                     object_id=str(i), patient_id=i)
    call_command("verify_audit_chain")
    first = AuditEvent.objects.order_by("id").first()
    with trigger_bypassed(), connection.cursor() as cur:
        cur.execute("UPDATE ipm_auditevent SET patient_id = 99 WHERE id = %s", [first.pk])
    with pytest.raises(CommandError, match="broken"):
        call_command("verify_audit_chain", "--no-seal")
