"""The exam page in a real Chromium with the fake camera: start on a face match, answer, reload
(answers kept), submit and see the score; a time-up submission; an attempt beyond the limit
refused; another face (biden-live) cannot start the exam."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import close_browser, enrol_face, logged_in_page
from zhipei.exams.models import Attempt
from zhipei.exams.tests.fixtures import right_answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrolled(personas, photo, settings):
    settings.FACE_ACTIVE_PURPOSES = []  # the fake camera cannot answer a challenge
    settings.FACE_REPLAY_LOOKBACK = 0  # the fake camera loops the same 25 frames
    enrol_face(
        personas.trainee.trainee_profile, personas.inst_a, personas.admin, photo("obama_1.jpg")
    )
    return personas


def open_exam(pw, chromium_path, live_server, personas, exam, stream="obama-live"):
    browser, page = logged_in_page(
        pw, chromium_path, live_server, personas.trainee, stream=stream, viewport=(1024, 900)
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.console_errors = []  # CSP violations and script errors
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.goto(f"{live_server.url}/exams/{exam.pk}/")
    return browser, page


def face_and_start(page):
    page.wait_for_selector("[data-face-panel] [data-face-start]:not([disabled])", timeout=20000)
    page.click("[data-face-panel] [data-face-start]")
    page.wait_for_selector("[data-exam]:not([hidden]) .exam-question", timeout=30000)


def question(page, kind):
    return page.locator(f".exam-question[data-kind={kind}]")


def wait_saved(page, kind):
    page.wait_for_selector(f".exam-question[data-kind={kind}][data-saved='1']", timeout=10000)


def test_start_answer_reload_submit(live_server, enrolled, exam, chromium_path):
    from playwright.sync_api import sync_playwright

    personas = enrolled
    with sync_playwright() as pw:
        browser, page = open_exam(pw, chromium_path, live_server, personas, exam)
        try:
            face_and_start(page)
            attempt = Attempt.objects.get(trainee=personas.trainee.trainee_profile)
            assert attempt.start_face.decision == "MATCH"
            items = {i["kind"]: i for i in attempt.paper}
            # Answer every question right, the way the trainee sees it.
            for kind in ("single", "multiple", "judge"):
                for index in right_answer(items[kind]):
                    question(page, kind).locator("input").nth(index).check()
                wait_saved(page, kind)
            blanks = question(page, "fill").locator("input[type=text]")
            blanks.nth(0).fill("５０")
            blanks.nth(1).fill("hz")
            blanks.nth(1).press("Tab")
            wait_saved(page, "fill")

            page.reload()
            page.wait_for_selector("[data-exam]:not([hidden]) .exam-question", timeout=20000)
            single = question(page, "single").locator("input")
            assert single.nth(right_answer(items["single"])[0]).is_checked()
            assert question(page, "fill").locator("input[type=text]").nth(0).input_value() == "５０"
            remaining = int(page.get_attribute("[data-exam]", "data-remaining") or 0)
            assert 1700 < remaining <= 1800

            page.locator("[data-exam-submit]").first.click()
            page.wait_for_url(f"**/exams/attempts/{attempt.pk}/", timeout=20000)
            assert page.text_content("[data-score]").strip() == "100.0"
            assert not page.console_errors, page.console_errors
        finally:
            close_browser(browser)
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.end_reason == "trainee"
    assert attempt.passed and attempt.score == 100
    assert attempt.page_leaves >= 1  # the reload left the page


def test_time_up_submits(live_server, enrolled, exam, chromium_path):
    from playwright.sync_api import sync_playwright

    personas = enrolled
    # The window closes 25 s from now: the attempt's deadline cannot pass it.
    exam.closes_at = timezone.now() + timedelta(seconds=25)
    exam.save()
    with sync_playwright() as pw:
        browser, page = open_exam(pw, chromium_path, live_server, personas, exam)
        try:
            face_and_start(page)
            attempt = Attempt.objects.get(trainee=personas.trainee.trainee_profile)
            single = next(i for i in attempt.paper if i["kind"] == "single")
            question(page, "single").locator("input").nth(right_answer(single)[0]).check()
            wait_saved(page, "single")
            page.wait_for_url(f"**/exams/attempts/{attempt.pk}/", timeout=40000)
            assert page.text_content("[data-score]").strip() == "25.0"
        finally:
            close_browser(browser)
    attempt.refresh_from_db()
    assert attempt.end_reason == "time_up" and attempt.submitted_at == attempt.deadline


def test_no_attempt_beyond_the_limit_and_no_start_with_another_face(
    live_server, enrolled, exam, chromium_path
):
    from playwright.sync_api import sync_playwright

    personas = enrolled
    profile = personas.trainee.trainee_profile
    with sync_playwright() as pw:
        browser, page = open_exam(pw, chromium_path, live_server, personas, exam, "biden-live")
        try:
            page.wait_for_selector(
                "[data-face-panel] [data-face-start]:not([disabled])", timeout=20000
            )
            page.click("[data-face-panel] [data-face-start]")
            page.wait_for_selector("[data-face-panel][data-result=MISMATCH]", timeout=30000)
            assert page.is_hidden("[data-exam]")
        finally:
            close_browser(browser)
    assert not Attempt.objects.filter(trainee=profile).exists()

    exam.max_attempts = 1
    exam.save()
    now = timezone.now()
    Attempt.objects.create(
        exam=exam,
        trainee=profile,
        institution=exam.institution,
        number=1,
        status="submitted",
        started_at=now,
        deadline=now,
        submitted_at=now,
        score=40,
    )
    with sync_playwright() as pw:
        browser, page = open_exam(pw, chromium_path, live_server, personas, exam)
        try:
            assert "已用完" in page.text_content("[data-exam-refusal]")
            assert page.is_hidden("[data-face-panel]") and page.is_hidden("[data-exam]")
        finally:
            close_browser(browser)
    assert Attempt.objects.filter(trainee=profile).count() == 1


def test_a_due_face_recheck_is_asked_and_recorded(
    live_server, enrolled, exam, chromium_path, settings
):
    from playwright.sync_api import sync_playwright

    personas = enrolled
    settings.EXAM_FACE_CHECK_MIN_MINUTES = settings.EXAM_FACE_CHECK_MAX_MINUTES = 0.05  # 3 s
    with sync_playwright() as pw:
        browser, page = open_exam(pw, chromium_path, live_server, personas, exam)
        try:
            face_and_start(page)
            attempt = Attempt.objects.get(trainee=personas.trainee.trainee_profile)
            page.wait_for_timeout(3500)
            # The next saved answer learns that a check is due and asks for it.
            question(page, "judge").locator("input").nth(0).check()
            page.wait_for_selector("[data-face-panel]:not([hidden])", timeout=10000)
            assert "抽查" in page.text_content("[data-face-title]")
            page.click("[data-face-panel] [data-face-start]")
            page.wait_for_selector("[data-face-panel][data-result=MATCH]", timeout=30000)
            page.wait_for_selector("[data-face-panel]", state="hidden", timeout=15000)
            assert not page.console_errors, page.console_errors
        finally:
            close_browser(browser)
    attempt.refresh_from_db()
    assert attempt.face_checks == 1 and attempt.face_failures == 0
    assert attempt.next_face_at > attempt.started_at
    assert attempt.status == "in_progress"
