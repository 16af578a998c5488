"""The verification page and the trainee's certificates in a real Chromium on a phone-sized
screen: nothing breaks the strict CSP, the verdict is visible, the PDF downloads."""

import pytest
from playwright.sync_api import sync_playwright

from conftest import close_browser, logged_in_page
from zhipei.certificates.services import certificate_issue
from zhipei.certificates.tests.helpers import add_member, give_exam, give_hours, make_class

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issued(personas):
    training_class = make_class(personas.course, required="2")
    profile = personas.trainee.trainee_profile
    add_member(training_class, profile)
    give_hours(profile, training_class, 2)
    give_exam(profile, training_class, score="90", passed=True)
    return certificate_issue(
        training_class=training_class, trainee=profile, kind="completion", by=personas.admin
    )


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return errors


def test_verification_page_and_trainee_download(chromium_path, live_server, issued, personas):
    with sync_playwright() as pw:
        browser, page = logged_in_page(pw, chromium_path, live_server, personas.trainee)
        try:
            public = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            anon = public.new_page()
            anon_errors = _errors(anon)
            anon.goto(f"{live_server.url}/verify/{issued.serial}/?s={issued.signature[:16]}")
            assert anon.locator(".verify-verdict-title").inner_text() == "真实有效"
            assert "张*" in anon.content()
            anon.goto(f"{live_server.url}/verify/")
            anon.fill("#id_serial", issued.serial.lower())
            anon.click("button[type=submit]")
            anon.wait_for_url(f"**/verify/{issued.serial}/")
            assert anon_errors == []

            errors = _errors(page)
            page.goto(f"{live_server.url}/certificates/")
            assert issued.serial in page.content()
            with page.expect_download() as download:
                page.click("text=下载 PDF")
            assert download.value.suggested_filename == f"结业证明-{issued.serial}.pdf"
            assert errors == []
        finally:
            close_browser(browser)
