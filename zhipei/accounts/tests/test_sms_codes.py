from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from zhipei.accounts import services
from zhipei.accounts.models import SmsCode, phone_index
from zhipei.accounts.sms import sms_provider

pytestmark = pytest.mark.django_db


class RecordingProvider:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_code(self, *, phone: str, code: str) -> str:
        self.sent.append((phone, code))
        return "rec"


@pytest.fixture
def outbox(monkeypatch):
    provider = RecordingProvider()
    sms_provider.cache_clear()
    monkeypatch.setattr("zhipei.accounts.tasks.sms_provider", lambda: provider)
    return provider.sent


def send(client, phone, purpose="register", ip="10.0.0.1"):
    return client.post(
        reverse("accounts:sms_send"), {"phone": phone, "purpose": purpose}, REMOTE_ADDR=ip
    )


def test_code_is_sent_hashed_and_verifies_once(client, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "+86 138-0013-8000")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert outbox[0][0] == "13800138000"
    code = outbox[0][1]
    assert len(code) == 6 and code.isdigit()
    stored = SmsCode.objects.get()
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=5)
    assert services.sms_code_verify(phone="13800138000", purpose="register", code=code)
    assert not services.sms_code_verify(phone="13800138000", purpose="register", code=code)


def test_resend_within_60s_is_429_with_retry_time(client, outbox):
    assert send(client, "13800138000").status_code == 200
    response = send(client, "13800138000")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "SMS_RATE_LIMITED"
    assert 0 < body["retry_after"] <= 60
    assert int(response["Retry-After"]) == body["retry_after"]
    assert SmsCode.objects.count() == 1


def test_daily_limit_per_phone(client, outbox):
    index = phone_index("13800138000")
    earlier = timezone.localtime().replace(hour=0, minute=1)
    for _ in range(10):
        SmsCode.objects.create(
            phone_index=index,
            purpose="register",
            code_hash="x",
            created_at=earlier,
            expires_at=earlier,
            ip="10.9.9.9",
        )
    response = send(client, "13800138000", ip="10.0.0.2")
    assert response.status_code == 429
    assert "今日" in response.json()["message"]


def test_daily_limit_per_ip(client, outbox):
    earlier = timezone.localtime().replace(hour=0, minute=1)
    for n in range(10):
        SmsCode.objects.create(
            phone_index=f"other{n}",
            purpose="register",
            code_hash="x",
            created_at=earlier,
            expires_at=earlier,
            ip="10.0.0.7",
        )
    response = send(client, "13800138001", ip="10.0.0.7")
    assert response.status_code == 429
    assert "网络" in response.json()["message"]


def test_five_wrong_tries_end_the_code(client, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client, "13800138000")
    code = outbox[0][1]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert not services.sms_code_verify(phone="13800138000", purpose="register", code=wrong)
    assert not services.sms_code_verify(phone="13800138000", purpose="register", code=code)


def test_expired_code_fails(client, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client, "13800138000")
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not services.sms_code_verify(phone="13800138000", purpose="register", code=outbox[0][1])


def test_login_code_for_unknown_phone_looks_the_same(
    client, outbox, personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = send(client, "13700000000", purpose="login", ip="10.0.0.3")
        known = send(client, personas.trainee.phone, purpose="login", ip="10.0.0.4")
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()
    assert [p for p, _ in outbox] == [personas.trainee.phone]


def test_bad_phone_and_purpose_get_stable_codes(client):
    response = send(client, "12345")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PHONE"
    assert "手机号" in response.json()["message"]
    response = Client().post(
        reverse("accounts:sms_send"), {"phone": "13800138000", "purpose": "steal"}
    )
    assert response.json()["code"] == "INVALID_PURPOSE"
    assert SmsCode.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get(reverse("accounts:sms_send")).status_code == 405
