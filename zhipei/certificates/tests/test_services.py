"""Eligibility, idempotent issue, bulk issue, revocation, and what the audit log records."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from zhipei.audit.models import AuditEntry
from zhipei.certificates import signing
from zhipei.certificates.models import Certificate
from zhipei.certificates.services import (
    CertificateError,
    certificate_issue,
    certificate_issue_bulk,
    certificate_revoke,
    normalize_serial,
    xueshi_printed,
)
from zhipei.certificates.tests.helpers import add_member, give_exam, give_hours
from zhipei.core.tests.factories import make_trainee

pytestmark = pytest.mark.django_db


def _issue(personas, training_class, profile, kind):
    return certificate_issue(
        training_class=training_class, trainee=profile, kind=kind, by=personas.admin
    )


def _code(personas, training_class, profile, kind) -> str:
    with pytest.raises(CertificateError) as exc:
        _issue(personas, training_class, profile, kind)
    assert exc.value.message  # a Chinese sentence for people
    return exc.value.code


def test_refusals_have_stable_codes(personas, training_class, profile):
    outsider = make_trainee(personas.inst_a, name="王五").trainee_profile
    assert _code(personas, training_class, outsider, "hours") == "NOT_MEMBER"
    assert _code(personas, training_class, profile, "hours") == "NO_HOURS"
    give_hours(profile, training_class, 1.5)
    assert _code(personas, training_class, profile, "completion") == "HOURS_SHORT"
    give_hours(profile, training_class, 0.5)
    assert _code(personas, training_class, profile, "completion") == "EXAM_NOT_PASSED"  # not sat
    give_exam(profile, training_class, score="55", passed=False)
    assert _code(personas, training_class, profile, "completion") == "EXAM_NOT_PASSED"
    assert _code(personas, training_class, profile, "diploma") == "BAD_KIND"
    give_exam(profile, training_class, score="75", passed=True)
    assert _issue(personas, training_class, profile, "completion").kind == "completion"
    assert not Certificate.objects.filter(kind="hours").exists()


def test_hours_outside_the_class_dates_do_not_count(personas, training_class, profile):
    before = datetime.combine(
        training_class.start_date - timedelta(days=1),
        time(9),
        tzinfo=timezone.get_current_timezone(),
    )
    give_hours(profile, training_class, 5, at=before)
    assert _code(personas, training_class, profile, "hours") == "NO_HOURS"


def test_hours_certificate_content_is_frozen_and_signed(personas, training_class, profile):
    give_hours(profile, training_class, 1.26)
    certificate = _issue(personas, training_class, profile, "hours")
    c = certificate.content
    assert c["kind"] == "hours" and c["title"] == "学时证明"
    assert c["serial"] == certificate.serial and normalize_serial(certificate.serial)
    assert c["holder_name"] == "张三"
    assert c["id_number_masked"] == profile.id_number_masked
    assert c["institution"] == personas.inst_a.name
    assert c["class_name"] == training_class.name
    assert c["courses"] == ["电工基础"]
    # Rounded down to one decimal: a certificate never overstates hours.
    assert c["online_xueshi"] == c["classroom_xueshi"] == "1.2"
    assert c["required_xueshi"] == "2.0"
    assert c["exam"] is None
    assert c["issued_on"] == timezone.localdate().isoformat()
    assert certificate.institution_id == personas.inst_a.pk
    assert certificate.key_id == signing.current_key().key_id
    assert signing.verify(c, certificate.signature, certificate.key_id)
    # Later study does not change an issued certificate.
    give_hours(profile, training_class, 3)
    certificate.refresh_from_db()
    assert certificate.content["online_xueshi"] == "1.2"


def test_hours_certificate_quotes_the_exam_when_there_is_one(personas, training_class, profile):
    give_hours(profile, training_class, 1)
    give_exam(profile, training_class, score="58.5", passed=False)
    certificate = _issue(personas, training_class, profile, "hours")
    assert certificate.content["exam"] == {
        "title": "电工（五级）结业考试",
        "score": "58.5",
        "passed": False,
    }


def test_issue_is_idempotent_and_revocation_allows_a_new_one(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    first = _issue(personas, training_class, profile, "hours")
    assert _issue(personas, training_class, profile, "hours").pk == first.pk
    assert Certificate.objects.count() == 1
    assert AuditEntry.objects.filter(action="certificate.issue").count() == 1

    with pytest.raises(CertificateError) as exc:
        certificate_revoke(certificate=first, by=personas.admin, reason="  ")
    assert exc.value.code == "REASON_REQUIRED"
    revoked = certificate_revoke(certificate=first, by=personas.admin, reason="姓名录入有误")
    assert revoked.revoked and revoked.revoked_by == personas.admin
    with pytest.raises(CertificateError) as exc:
        certificate_revoke(certificate=first, by=personas.admin, reason="再次撤销")
    assert exc.value.code == "ALREADY_REVOKED"

    second = _issue(personas, training_class, profile, "hours")
    assert second.pk != first.pk and second.serial != first.serial


def test_staff_of_another_institution_cannot_issue(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    with pytest.raises(CertificateError) as exc:
        certificate_issue(
            training_class=training_class, trainee=profile, kind="hours", by=personas.other_admin
        )
    assert exc.value.code == "WRONG_INSTITUTION"


def test_bulk_issue_reports_who_was_skipped_and_why(personas, training_class, profile):
    ready = make_trainee(personas.inst_a, name="赵六").trainee_profile
    idle = make_trainee(personas.inst_a, name="钱七").trainee_profile
    short = make_trainee(personas.inst_a, name="孙八").trainee_profile
    for p in (ready, idle, short):
        add_member(training_class, p)
    give_hours(profile, training_class, 2)
    give_exam(profile, training_class, score="90", passed=True)
    give_hours(ready, training_class, 2.5)
    give_exam(ready, training_class, score="60", passed=True)
    give_hours(short, training_class, 1)
    existing = _issue(personas, training_class, profile, "completion")

    result = certificate_issue_bulk(
        training_class=training_class, kind="completion", by=personas.admin
    )
    assert [c.trainee_id for c in result.issued] == [ready.pk]
    assert [c.pk for c in result.existing] == [existing.pk]
    assert {(s.trainee.pk, s.code) for s in result.skipped} == {
        (idle.pk, "NO_HOURS"),
        (short.pk, "HOURS_SHORT"),
    }
    summary = AuditEntry.objects.get(action="certificate.issue_bulk")
    assert summary.detail == {
        "kind": "completion",
        "issued": 1,
        "existing": 1,
        "skipped": {"NO_HOURS": 1, "HOURS_SHORT": 1},
    }

    hours = certificate_issue_bulk(training_class=training_class, kind="hours", by=personas.admin)
    assert len(hours.issued) == 3 and [s.code for s in hours.skipped] == ["NO_HOURS"]


def test_audit_entries_hold_no_personal_data(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    certificate = _issue(personas, training_class, profile, "hours")
    certificate_revoke(certificate=certificate, by=personas.admin, reason="张三本人申请撤销")
    entries = AuditEntry.objects.filter(action__startswith="certificate.")
    assert {e.action for e in entries} == {"certificate.issue", "certificate.revoke"}
    for entry in entries:
        assert entry.institution_id == personas.inst_a.pk
        assert entry.target_id == str(certificate.pk)
        text = str(entry.detail)
        for secret in ("张三", profile.id_number_masked, profile.id_number, "本人"):
            assert secret not in text


@pytest.mark.parametrize(
    ("value", "printed"),
    [(0.0, "0.0"), (0.04, "0.0"), (1.26, "1.2"), (39.99999999, "40.0"), (40.0, "40.0")],
)
def test_xueshi_printed_rounds_down_but_forgives_float_noise(value, printed):
    assert xueshi_printed(value) == Decimal(printed)


def test_serials_are_normalized_and_validated():
    assert normalize_serial(" zp2026-abcd-efgh-jkmn ") == "ZP2026-ABCD-EFGH-JKMN"
    assert normalize_serial("ZP2026-ABCD-EFGH-JKM0") == ""  # 0 is never used
    assert normalize_serial("../../etc") == ""
