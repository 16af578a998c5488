"""In a real Chromium: a trainee logs in with an SMS code, a staff member with password + TOTP.

These prove the pages, the JavaScript and the Content-Security-Policy work together.
"""

import pyotp
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fixed_code(monkeypatch):
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 246810)
    return "246810"


def test_trainee_sms_login_on_a_phone(live_server, personas, fixed_code, browser_page):
    masked = personas.trainee.trainee_profile.id_number_masked
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_phone", personas.trainee.phone)
    page.click("[data-sms-send]")
    page.wait_for_selector("[data-sms-status]:has-text('验证码已发送')")
    assert page.is_disabled("[data-sms-send]")  # the 60 s countdown
    page.fill("#id_code", fixed_code)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "张三" in page.inner_text("main")
    assert masked in page.content()
    assert page.console_errors == []


def test_staff_login_with_totp(live_server, personas, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/console/login/")
    page.fill("#id_username", "admin_a")
    page.fill("#id_password", "Zhipei-Test-2026!")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/totp/")
    page.fill("#id_code", pyotp.TOTP(personas.admin.totp_secret).now())
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    assert personas.inst_a.name in page.inner_text("body")
    page.click("nav >> text=学员")
    page.wait_for_url("**/console/trainees/")
    assert "张三" in page.inner_text("main") and "李四" not in page.inner_text("main")
    assert page.console_errors == []
