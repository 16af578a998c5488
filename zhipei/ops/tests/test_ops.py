import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from zhipei.accounts.models import Role, User
from zhipei.audit.models import AuditEntry
from zhipei.institutions.models import Institution
from zhipei.lib.creditcode import make_credit_code

pytestmark = pytest.mark.django_db


def institution_data(**overrides):
    data = {
        "name": "龙泉市技工培训学校",
        "credit_code": make_credit_code("52331181MJ1234567"),
        "licence_no": "人社民1331181000009",
        "kind": "both",
        "region": "331181",
        "legal_person": "季明",
        "contact_name": "毛丽",
        "contact_title": "",
        "contact_phone": "13905781111",
        "address": "龙泉市剑池路1号",
    }
    data.update(overrides)
    return data


def test_operator_creates_an_institution(personas):
    response = client_for(personas.operator).post(
        reverse("ops:institution_new"), institution_data()
    )
    inst = Institution.objects.get(name="龙泉市技工培训学校")
    assert response["Location"] == reverse("ops:institution_detail", args=[inst.pk])
    assert inst.offers_vocational and inst.offers_entrepreneurship
    assert AuditEntry.objects.filter(action="institution.create", target_id=str(inst.pk)).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_code", "52331181MJ1234567X", "统一社会信用代码"),
        ("credit_code", "123", "统一社会信用代码"),
        ("contact_phone", "0578-1234567", "手机号码格式不正确"),
        ("region", "999999", "所属地区"),
    ],
)
def test_bad_institution_input_is_refused_with_a_named_field(personas, field, value, message):
    response = client_for(personas.operator).post(
        reverse("ops:institution_new"), institution_data(**{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Institution.objects.filter(name="龙泉市技工培训学校").exists()


def test_operator_creates_staff_with_one_time_password(personas):
    client = client_for(personas.operator)
    response = client.post(
        reverse("ops:account_new"),
        {
            "username": "voc_new",
            "name": "新管理员",
            "role": "inst_admin",
            "institution": personas.inst_a.pk,
            "phone": "13912340000",
        },
    )
    assert "初始密码" in response.content.decode()
    user = User.objects.get(username="voc_new")
    assert user.institution == personas.inst_a and user.password_expired()
    missing = client.post(
        reverse("ops:account_new"), {"username": "reg2", "name": "x", "role": "regulator"}
    )
    assert "监管地区" in missing.content.decode()
    assert not User.objects.filter(username="reg2").exists()
    taken = client.post(
        reverse("ops:account_new"), {"username": "ADMIN_A", "name": "x", "role": "regulator"}
    )
    assert "已被使用" in taken.content.decode()


def test_operator_cannot_create_platform_accounts(personas):
    """三员分立: an operator who could mint an auditor could read the audit log through it."""
    from zhipei.accounts.services import AccountError, staff_create

    data = {"username": "aud2", "name": "x", "role": "auditor", "phone": "13912340001"}
    response = client_for(personas.operator).post(reverse("ops:account_new"), data)
    assert "角色" in response.content.decode()
    assert not User.objects.filter(username="aud2").exists()
    with pytest.raises(AccountError):
        staff_create(username="aud3", name="x", role="auditor", by=personas.operator)


def test_security_officer_unlocks_and_resets_totp(personas):
    locked = personas.admin
    User.objects.filter(pk=locked.pk).update(
        locked_until=timezone.now() + timezone.timedelta(minutes=10)
    )
    client = client_for(personas.security)
    assert "admin_a" in client.get(reverse("ops:security")).content.decode()
    client.post(reverse("ops:account_unlock", args=[locked.pk]))
    locked.refresh_from_db()
    assert not locked.is_locked()
    client.post(reverse("ops:account_totp_reset", args=[locked.pk]))
    locked.refresh_from_db()
    assert not locked.totp_enabled and locked.totp_secret == ""
    assert {"account.unlock", "account.totp_reset"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_auditor_filters_the_log_and_operator_cannot_read_it(personas):
    client_for(personas.admin).get(reverse("console:trainees"))
    auditor = client_for(personas.auditor)
    body = auditor.get(
        reverse("ops:audit"), {"action": "trainee.list", "actor": "admin_a"}
    ).content.decode()
    assert "trainee.list" in body
    assert auditor.get(reverse("ops:audit"), {"since": "not-a-date"}).status_code == 200
    assert client_for(personas.operator).get(reverse("ops:audit")).status_code == 403
    assert AuditEntry.objects.filter(action="audit.view", actor_role=Role.AUDITOR).exists()
    response = auditor.post(reverse("ops:audit_verify"), follow=True)
    assert "哈希链完整" in response.content.decode()


def test_audit_page_includes_the_view_itself(personas):
    body = client_for(personas.auditor).get(reverse("ops:audit")).content.decode()
    assert "audit.view" in body
