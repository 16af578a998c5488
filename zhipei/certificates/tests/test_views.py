"""The public verification page, the trainee's downloads and the console's actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from zhipei.audit.models import AuditEntry
from zhipei.certificates.models import Certificate
from zhipei.certificates.services import certificate_issue, certificate_revoke
from zhipei.certificates.tests.helpers import add_member, give_exam, give_hours
from zhipei.core.tests.factories import make_trainee
from zhipei.lib.masking import mask_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    give_exam(profile, training_class, score="88", passed=True)
    return certificate_issue(
        training_class=training_class, trainee=profile, kind="completion", by=personas.admin
    )


def _verify(certificate, **params):
    url = reverse("verify:detail", args=[certificate.serial])
    return client_for(None).get(url, params)


# --- public verification ---------------------------------------------------------------------


def test_valid_certificate_page_shows_what_it_certifies_and_no_personal_data(
    certificate, profile, personas
):
    response = _verify(certificate, s=certificate.signature[:16])
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    html = response.content.decode()
    for expected in (
        "真实有效",
        "结业证明",
        certificate.serial,
        "莲都职业技能培训学校",
        "电工（五级）第一期",
        "电工基础",
        "2.0",
        "88.0",
        certificate.content["issued_on"],
        mask_name("张三"),
        "二维码中的签名片段与平台记录一致",
        certificate.key_id,
    ):
        assert expected in html, expected
    # Never the name in full, the ID number (masked or not), or the phone.
    assert "张三" not in html
    assert profile.id_number not in html
    assert profile.id_number_masked not in html
    assert profile.id_number[-4:] not in html
    user = personas.trainee
    assert user.phone and user.phone not in html
    assert user.phone_masked not in html and user.phone[-4:] not in html


def test_tampered_content_is_not_authentic(certificate):
    content = dict(certificate.content)
    content["online_xueshi"] = content["classroom_xueshi"] = "120.0"
    Certificate.objects.filter(pk=certificate.pk).update(content=content)
    html = _verify(certificate).content.decode()
    assert "核验未通过" in html
    assert "真实有效" not in html
    assert "120.0" not in html  # the altered figures are not displayed as if certified


def test_signature_moved_to_another_serial_is_not_authentic(certificate, personas, profile):
    other = make_trainee(personas.inst_a, name="王五").trainee_profile
    add_member(certificate.training_class, other)
    give_hours(other, certificate.training_class, 1)
    second = certificate_issue(
        training_class=certificate.training_class, trainee=other, kind="hours", by=personas.admin
    )
    Certificate.objects.filter(pk=second.pk).update(
        content=certificate.content, signature=certificate.signature
    )
    assert "核验未通过" in _verify(second).content.decode()


def test_revoked_certificate(certificate, personas):
    certificate_revoke(certificate=certificate, by=personas.admin, reason="成绩录入错误")
    html = _verify(certificate).content.decode()
    assert "已撤销" in html and "真实有效" not in html
    assert "成绩录入错误" not in html  # the reason is for the institution, not the public


def test_qr_fragment_that_does_not_match(certificate):
    html = _verify(certificate, s="AAAAAAAAAAAAAAAA").content.decode()
    assert "二维码中的签名片段与平台记录不符" in html


def test_unknown_serial_is_404_and_misses_are_rate_limited(settings):
    settings.CERT_VERIFY_MISSES_PER_HOUR = 3
    client = client_for(None)
    for _ in range(3):
        response = client.get(reverse("verify:detail", args=["ZP2026-AAAA-BBBB-CCCC"]))
        assert response.status_code == 404
        assert "证书不存在" in response.content.decode()
    assert client.get(reverse("verify:detail", args=["ZP2026-AAAA-BBBB-DDDD"])).status_code == 429


def test_serial_typed_in_lower_case_redirects_to_the_canonical_page(certificate):
    client = client_for(None)
    response = client.get(reverse("verify:detail", args=[certificate.serial.lower()]), {"s": "x"})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{certificate.serial}/?s=x"
    lookup = client.get(reverse("verify:lookup"), {"serial": f" {certificate.serial.lower()} "})
    assert lookup["Location"] == f"/verify/{certificate.serial}/"
    bad = client.get(reverse("verify:lookup"), {"serial": "hello"})
    assert bad.status_code == 200 and "格式不正确" in bad.content.decode()


# --- trainee ---------------------------------------------------------------------------------


def test_trainee_lists_and_downloads_their_own(certificate, personas):
    client = client_for(personas.trainee)
    page = client.get(reverse("certificates:mine")).content.decode()
    assert certificate.serial in page
    response = client.get(reverse("certificates:download", args=[certificate.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert "attachment" in response["Content-Disposition"]
    entry = AuditEntry.objects.get(action="certificate.download")
    assert entry.actor_id == personas.trainee.pk and entry.target_id == str(certificate.pk)


def test_another_trainee_cannot_download_it(certificate, personas):
    client = client_for(personas.trainee_b)
    assert client.get(reverse("certificates:download", args=[certificate.pk])).status_code == 404
    assert certificate.serial not in client.get(reverse("certificates:mine")).content.decode()


def test_revoked_certificate_is_no_longer_downloadable(certificate, personas):
    certificate_revoke(certificate=certificate, by=personas.admin, reason="重新签发")
    client = client_for(personas.trainee)
    assert client.get(reverse("certificates:download", args=[certificate.pk])).status_code == 404


# --- console ---------------------------------------------------------------------------------


def test_admin_issues_from_the_class_page(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    client = client_for(personas.admin)
    page = client.get(reverse("certificates_console:for_class", args=[training_class.pk]))
    html = page.content.decode()
    assert "该学员尚未参加结业考试" in html  # why no 结业证明 yet
    response = client.post(
        reverse("certificates_console:issue", args=[training_class.pk]),
        {"kind": "hours", "trainee": profile.pk},
    )
    assert response.status_code == 302
    certificate = Certificate.objects.get(trainee=profile, kind="hours")
    assert certificate.issued_by == personas.admin
    # Refused with the reason shown.
    response = client.post(
        reverse("certificates_console:issue", args=[training_class.pk]),
        {"kind": "completion", "trainee": profile.pk},
        follow=True,
    )
    assert "该学员尚未参加结业考试" in response.content.decode()


def test_admin_issues_to_the_whole_class(personas, training_class, profile):
    give_hours(profile, training_class, 2)
    other = make_trainee(personas.inst_a, name="王五").trainee_profile
    add_member(training_class, other)
    response = client_for(personas.admin).post(
        reverse("certificates_console:issue_bulk", args=[training_class.pk]),
        {"kind": "hours"},
        follow=True,
    )
    html = response.content.decode()
    assert "新签发 1 份" in html and "王五（该学员在本培训班尚无有效学时）" in html
    assert Certificate.objects.filter(kind="hours").count() == 1


def test_admin_lists_downloads_and_revokes(certificate, personas):
    client = client_for(personas.admin)
    assert certificate.serial in client.get(reverse("certificates_console:list")).content.decode()
    detail = client.get(reverse("certificates_console:detail", args=[certificate.pk]))
    assert "下载 PDF" in detail.content.decode()
    pdf = client.get(reverse("certificates_console:download", args=[certificate.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert AuditEntry.objects.filter(
        action="certificate.download", actor_id=personas.admin.pk
    ).exists()
    response = client.post(
        reverse("certificates_console:revoke", args=[certificate.pk]), {"reason": "信息有误"}
    )
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.revoked and certificate.revoke_reason == "信息有误"
    assert (
        "已撤销"
        in client.get(reverse("certificates_console:list"), {"status": "revoked"}).content.decode()
    )


def test_another_institution_sees_nothing(certificate, personas, training_class):
    client = client_for(personas.other_admin)
    for name in ("detail", "download"):
        url = reverse(f"certificates_console:{name}", args=[certificate.pk])
        assert client.get(url).status_code == 404
    assert (
        client.get(reverse("certificates_console:for_class", args=[training_class.pk])).status_code
        == 404
    )
    assert (
        client.post(
            reverse("certificates_console:revoke", args=[certificate.pk]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert (
        certificate.serial not in client.get(reverse("certificates_console:list")).content.decode()
    )
    certificate.refresh_from_db()
    assert not certificate.revoked


def test_instructor_views_but_cannot_issue_or_revoke(certificate, personas, training_class):
    client = client_for(personas.instructor)
    assert (
        client.get(reverse("certificates_console:detail", args=[certificate.pk])).status_code == 200
    )
    assert (
        client.post(
            reverse("certificates_console:issue_bulk", args=[training_class.pk]), {"kind": "hours"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("certificates_console:revoke", args=[certificate.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
