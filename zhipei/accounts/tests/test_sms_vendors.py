"""The SMS code path end to end through the configured vendor adapter, against local fake
vendor servers that verify each vendor's documented signature (see zhipei/lib/tests/test_sms.py)."""

import json

import pytest
from django.urls import reverse

from zhipei.accounts.sms import sms_provider
from zhipei.lib.tests.test_sms import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    AliyunHandler,
    TencentHandler,
    _serve,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # The fake vendors listen on 127.0.0.1; a proxy from the environment must not intercept.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def aliyun():
    yield from _serve(AliyunHandler)


@pytest.fixture
def tencent():
    yield from _serve(TencentHandler)


@pytest.fixture
def fixed_code(monkeypatch):
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 135790)
    sms_provider.cache_clear()
    yield "135790"
    sms_provider.cache_clear()


def test_login_code_is_sent_through_aliyun(
    settings,
    aliyun,
    personas,
    fixed_code,
    client,
    django_capture_on_commit_callbacks,
):
    settings.SMS_PROVIDER = "aliyun"
    settings.SMS_ENDPOINT = aliyun.url + "/"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = ALIYUN_KEY_ID, ALIYUN_SECRET
    settings.SMS_SIGN_NAME, settings.SMS_TEMPLATE = "职培平台", "SMS_154950909"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:sms_send"), {"phone": personas.trainee.phone, "purpose": "login"}
        )
    assert response.status_code == 200
    [request] = aliyun.requests
    assert request["PhoneNumbers"] == personas.trainee.phone
    assert json.loads(request["TemplateParam"]) == {"code": fixed_code}


def test_register_code_is_sent_through_tencent(
    settings,
    tencent,
    db,
    fixed_code,
    client,
    django_capture_on_commit_callbacks,
):
    settings.SMS_PROVIDER = "tencent"
    settings.SMS_ENDPOINT = tencent.url
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = (
        TENCENT_SECRET_ID,
        TENCENT_SECRET_KEY,
    )
    settings.SMS_SDK_APP_ID, settings.SMS_SIGN_NAME, settings.SMS_TEMPLATE = (
        "1400006666",
        "职培平台",
        "449739",
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:sms_send"), {"phone": "13812345678", "purpose": "register"})
    [request] = tencent.requests
    payload = json.loads(request["body"])
    assert payload["PhoneNumberSet"] == ["+8613812345678"]
    assert payload["TemplateParamSet"] == [fixed_code]


def test_a_vendor_failure_does_not_break_the_page(
    settings,
    aliyun,
    personas,
    fixed_code,
    client,
    django_capture_on_commit_callbacks,
    caplog,
):
    settings.SMS_PROVIDER = "aliyun"
    settings.SMS_ENDPOINT = aliyun.url + "/"
    settings.SMS_ACCESS_KEY_ID, settings.SMS_ACCESS_KEY_SECRET = ALIYUN_KEY_ID, "wrong-secret"
    settings.SMS_SIGN_NAME, settings.SMS_TEMPLATE = "职培平台", "SMS_154950909"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:sms_send"), {"phone": personas.trainee.phone, "purpose": "login"}
        )
    assert response.status_code == 200
    assert "短信验证码发送失败" in caplog.text
    assert personas.trainee.phone not in caplog.text
