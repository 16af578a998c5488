import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from zhipei.accounts.models import RecoveryCode, User
from zhipei.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "Zhipei-Test-2026!"


@pytest.fixture
def code(monkeypatch):
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 424242)
    return "424242"


def sms_login(client, phone, code):
    client.post(reverse("accounts:sms_send"), {"phone": phone, "purpose": "login"})
    return client.post(reverse("trainee:login"), {"phone": phone, "code": code})


def test_trainee_logs_in_with_sms_code(personas, code):
    client = Client()
    response = sms_login(client, personas.trainee.phone, code)
    assert response.status_code == 302 and response["Location"] == reverse("trainee:home")
    assert client.get(reverse("trainee:profile")).status_code == 200
    assert AuditEntry.objects.filter(action="login.success", actor_id=personas.trainee.pk).exists()


def test_unknown_phone_gets_the_same_answer_as_a_wrong_code(personas, code):
    unknown = sms_login(Client(), "13700001111", code).content.decode()
    known = Client().post(
        reverse("trainee:login"), {"phone": personas.trainee.phone, "code": "000001"}
    )
    assert "验证码错误或已过期" in unknown
    assert "验证码错误或已过期" in known.content.decode()
    assert "未注册" not in unknown


def staff_password(client, face, username, password=PASSWORD):
    return client.post(reverse(f"{face}:login"), {"username": username, "password": password})


def test_staff_login_needs_password_then_totp(personas):
    client = Client()
    response = staff_password(client, "console", "admin_a")
    assert response["Location"] == reverse("accounts:totp")
    # Not logged in between the two factors.
    assert client.get(reverse("console:home")).status_code == 302
    code = pyotp.TOTP(personas.admin.totp_secret).now()
    response = client.post(reverse("accounts:totp"), {"code": code})
    assert response["Location"] == reverse("console:home")
    assert client.get(reverse("console:home")).status_code == 200


def test_totp_code_cannot_be_replayed(personas):
    code = pyotp.TOTP(personas.admin.totp_secret).now()
    first = Client()
    staff_password(first, "console", "admin_a")
    assert first.post(reverse("accounts:totp"), {"code": code}).status_code == 302
    second = Client()
    staff_password(second, "console", "admin_a")
    response = second.post(reverse("accounts:totp"), {"code": code})
    assert response.status_code == 200
    assert "动态验证码错误" in response.content.decode()


def test_wrong_face_is_refused(personas):
    response = staff_password(Client(), "portal", "admin_a")
    assert response.status_code == 200
    assert "不能从此入口登录" in response.content.decode()


def test_unknown_user_and_wrong_password_look_the_same(personas):
    a = staff_password(Client(), "console", "nobody").content.decode()
    b = staff_password(Client(), "console", "admin_a", "Wrong-Password-1").content.decode()
    assert "用户名或密码错误" in a and "用户名或密码错误" in b


def test_five_failures_lock_for_15_minutes(personas):
    for _ in range(4):
        assert (
            "用户名或密码错误"
            in staff_password(Client(), "console", "admin_a", "bad").content.decode()
        )
    assert "已锁定" in staff_password(Client(), "console", "admin_a", "bad").content.decode()
    user = User.objects.get(username="admin_a")
    assert timedelta(minutes=14) < user.locked_until - timezone.now() <= timedelta(minutes=15)
    # Even the right password is refused while locked.
    assert "已锁定" in staff_password(Client(), "console", "admin_a").content.decode()
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert staff_password(Client(), "console", "admin_a").status_code == 302


def test_totp_failures_count_towards_the_lock(personas):
    client = Client()
    for _ in range(5):
        staff_password(client, "console", "admin_a")
        client.post(reverse("accounts:totp"), {"code": "000000"})
    assert User.objects.get(username="admin_a").is_locked()


def test_first_login_enrols_totp_and_gives_recovery_codes(personas):
    user = personas.admin
    User.objects.filter(pk=user.pk).update(totp_secret="", totp_confirmed_at=None)
    client = Client()
    staff_password(client, "console", "admin_a")
    page = client.get(reverse("accounts:totp"))
    assert "data:image/svg+xml;base64," in page.content.decode()
    user.refresh_from_db()
    response = client.post(reverse("accounts:totp"), {"code": pyotp.TOTP(user.totp_secret).now()})
    body = response.content.decode()
    assert "请保存您的恢复码" in body
    assert RecoveryCode.objects.filter(user=user).count() == 10
    codes = re.findall(r"<li>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</li>", body)
    assert len(codes) == 10
    # A recovery code logs in once.
    other = Client()
    staff_password(other, "console", "admin_a")
    assert other.post(reverse("accounts:totp"), {"code": codes[0]}).status_code == 302
    again = Client()
    staff_password(again, "console", "admin_a")
    assert again.post(reverse("accounts:totp"), {"code": codes[0]}).status_code == 200


def test_pending_login_expires(personas, monkeypatch):
    client = Client()
    staff_password(client, "console", "admin_a")
    session = client.session
    session["pending_at"] -= 301
    session.save()
    response = client.post(reverse("accounts:totp"), {"code": "123456"})
    assert response["Location"] == reverse("console:login")


def test_staff_idle_timeout_logs_out(personas, settings):
    client = client_for(personas.admin)
    assert client.get(reverse("console:home")).status_code == 200
    session = client.session
    session["last_seen"] -= settings.STAFF_IDLE_MINUTES * 60 + 1
    session.save()
    response = client.get(reverse("console:home"))
    assert response["Location"] == reverse("console:login")
    assert client.get(reverse("console:home")).status_code == 302
    assert AuditEntry.objects.filter(action="logout.idle", actor_id=personas.admin.pk).exists()


def test_one_time_password_must_be_changed(personas):
    User.objects.filter(pk=personas.admin.pk).update(password_changed_at=None)
    client = client_for(personas.admin)
    assert client.get(reverse("console:home"))["Location"] == reverse("accounts:password_change")
    # The page's scripts still get their translations (not a redirect to the page itself).
    catalog = client.get(reverse("javascript_catalog"))
    assert catalog.status_code == 200 and catalog["Content-Type"].startswith("text/javascript")
    weak = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "abcdefghij", "new_password2": "abcdefghij"},
    )
    assert "至少三类" in weak.content.decode()
    ok = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "New-Strong-Pass-9",
            "new_password2": "New-Strong-Pass-9",
        },
    )
    assert ok["Location"] == reverse("console:home")
    assert client.get(reverse("console:home")).status_code == 200


def test_logout_is_post_only_and_audited(personas):
    client = client_for(personas.trainee)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("trainee:login")
    assert AuditEntry.objects.filter(action="logout", actor_id=personas.trainee.pk).exists()


def test_a_lock_that_ran_out_starts_a_fresh_count(personas):
    for _ in range(5):
        staff_password(Client(), "console", "admin_a", "bad")
    User.objects.filter(pk=personas.admin.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert (
        "用户名或密码错误" in staff_password(Client(), "console", "admin_a", "bad").content.decode()
    )
    assert not User.objects.get(pk=personas.admin.pk).is_locked()


def test_unknown_usernames_lock_like_real_ones(personas):
    answers = [
        staff_password(Client(), "console", "ghost", "bad").content.decode() for _ in range(5)
    ]
    assert all("用户名或密码错误" in a for a in answers[:4])
    assert "已锁定" in answers[4]


def test_a_password_typed_as_username_is_not_logged(personas):
    staff_password(Client(), "console", "Secret-Pass 123!")
    labels = set(AuditEntry.objects.values_list("actor_label", flat=True))
    assert "Secret-Pass 123!" not in labels and "（无效用户名）" in labels


def test_first_login_with_a_phone_needs_the_code_sent_to_it(personas, monkeypatch):
    """Whoever saw the one-time password cannot enrol the authenticator without the phone."""
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 777777)
    user = personas.admin
    user.set_phone("13912345678")
    user.totp_secret, user.totp_confirmed_at = "", None
    user.save()
    client = Client()
    staff_password(client, "console", "admin_a")
    page = client.get(reverse("accounts:totp")).content.decode()
    assert "139****5678" in page
    user.refresh_from_db()
    code = pyotp.TOTP(user.totp_secret).now()
    refused = client.post(reverse("accounts:totp"), {"sms_code": "000000", "code": code})
    assert "短信验证码错误" in refused.content.decode()
    user.refresh_from_db()
    assert not user.totp_enabled
    ok = client.post(reverse("accounts:totp"), {"sms_code": "777777", "code": code})
    assert "请保存您的恢复码" in ok.content.decode()
