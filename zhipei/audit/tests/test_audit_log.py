import pytest
from django.db import DatabaseError, connection, transaction

from zhipei.audit.models import AppendOnlyError, AuditEntry
from zhipei.audit.selectors import audit_chain_verify
from zhipei.audit.services import GENESIS, audit_log

pytestmark = pytest.mark.django_db


def test_entries_form_a_hash_chain(personas):
    first = audit_log(action="test.one", actor=personas.admin, detail={"n": 1})
    second = audit_log(action="test.two", actor=personas.auditor)
    assert second.prev_hash == first.hash
    assert first.actor_role == "inst_admin" and first.institution_id == personas.inst_a.pk
    assert len(first.hash) == 64 and first.algorithm == "sm3"
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEntry.objects.count()


def test_first_entry_chains_from_genesis(db):
    assert audit_log(action="test.genesis").prev_hash == GENESIS


def test_the_platform_cannot_edit_or_delete_entries(personas):
    entry = audit_log(action="test.keep", actor=personas.admin)
    entry.action = "test.changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.keep"


def test_tampering_below_the_platform_is_detected(personas):
    audit_log(action="test.a", actor=personas.admin)
    victim = audit_log(action="test.b", actor=personas.admin)
    audit_log(action="test.c", actor=personas.admin)
    if connection.vendor == "postgresql":
        # The database itself refuses changes ...
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [victim.pk]
            )
        # ... so a superuser would have to drop the trigger first; the chain still tells.
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
            cursor.execute(
                "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [victim.pk]
            )
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_append_only")
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [victim.pk]
            )
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == victim.pk


def test_sha256_chain_is_selectable(personas, settings):
    settings.ZHIPEI_HASH = "sha256"
    entry = audit_log(action="test.sha", actor=personas.admin)
    assert entry.algorithm == "sha256"
    assert audit_chain_verify().ok
