"""The supervised player in a real Chromium with the fake camera: watching lesson-20s.mp4 is
credited about 20 s; speeding up and seeking ahead earn nothing; another face voids time;
idling ends the session. Intervals are shortened through settings."""

import time

import pytest
from django.core.files import File

from conftest import close_browser, enrol_face, logged_in_page
from zhipei.courses.models import Chapter
from zhipei.courses.services import lesson_create_with_video
from zhipei.study.models import LessonProgress, StudySession, UncreditedInterval

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def study_setup(personas, photo, testdata, settings):
    settings.FACE_ACTIVE_PURPOSES = []  # the fake camera cannot answer a challenge
    settings.FACE_REPLAY_LOOKBACK = 0  # the fake camera loops the same 25 frames
    settings.STUDY_HEARTBEAT_SECONDS = 2
    settings.STUDY_FACE_CHECK_MIN_MINUTES = settings.STUDY_FACE_CHECK_MAX_MINUTES = 30
    settings.STUDY_QUIZ_MIN_MINUTES = settings.STUDY_QUIZ_MAX_MINUTES = 30
    enrol_face(
        personas.trainee.trainee_profile, personas.inst_a, personas.admin, photo("obama_1.jpg")
    )
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    with (testdata / "video" / "lesson-20s.mp4").open("rb") as fh:
        lesson = lesson_create_with_video(
            chapter=chapter,
            title="第一讲",
            video=File(fh, name="lesson-20s.mp4"),
            by=personas.admin,
        )
    return lesson


def open_player(pw, chromium_path, live_server, trainee, lesson, stream="obama-live"):
    browser, page = logged_in_page(
        pw, chromium_path, live_server, trainee, stream=stream, viewport=(1024, 900)
    )
    page.goto(f"{live_server.url}/study/lessons/{lesson.pk}/")
    page.wait_for_selector("[data-face-panel] [data-face-start]:not([disabled])", timeout=20000)
    page.click("[data-face-panel] [data-face-start]")
    page.wait_for_selector("[data-study][data-state=studying]", timeout=30000)
    return browser, page


def wait_until(page, script, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(script):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out waiting for {script}")


def finish(page):
    page.click("[data-end]")
    page.wait_for_selector("[data-study][data-state=ended]", timeout=20000)


def test_watching_the_whole_lesson_is_credited_about_20_seconds(
    live_server, study_setup, personas, chromium_path
):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser, page = open_player(pw, chromium_path, live_server, personas.trainee, study_setup)
        try:
            page.click("[data-play]")
            wait_until(page, "document.querySelector('.player-video').ended", timeout=60)
            finish(page)
        finally:
            close_browser(browser)
    progress = LessonProgress.objects.get(
        trainee=personas.trainee.trainee_profile, lesson=study_setup
    )
    assert 17 <= progress.credited_seconds <= 23, progress.credited_seconds
    session = StudySession.objects.get(trainee=personas.trainee.trainee_profile)
    assert session.end_reason == "left" and session.segments.exists()


def test_speeding_up_and_seeking_ahead_earn_nothing(
    live_server, study_setup, personas, chromium_path
):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser, page = open_player(pw, chromium_path, live_server, personas.trainee, study_setup)
        try:
            page.click("[data-play]")
            page.wait_for_timeout(3000)
            started = time.monotonic()
            page.evaluate("document.querySelector('.player-video').playbackRate = 2")
            page.evaluate("document.querySelector('.player-video').currentTime = 17")
            page.wait_for_timeout(4000)
            position = page.evaluate("document.querySelector('.player-video').currentTime")
            assert position < 12  # the player refused to jump past what was watched
            wall = 3 + (time.monotonic() - started)
            finish(page)
        finally:
            close_browser(browser)
    session = StudySession.objects.get(trainee=personas.trainee.trainee_profile)
    assert session.confirmed_seconds <= wall
    assert UncreditedInterval.objects.filter(session=session, reason="RATE").exists()


def test_another_face_at_the_recheck_voids_time(
    live_server, study_setup, personas, chromium_path, burst
):
    """The re-check is answered with biden-live frames (the camera now shows someone else)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from playwright.sync_api import sync_playwright

    from conftest import client_for

    with sync_playwright() as pw:
        browser, page = open_player(pw, chromium_path, live_server, personas.trainee, study_setup)
        try:
            page.click("[data-play]")
            page.wait_for_timeout(6000)
            session = StudySession.objects.get(trainee=personas.trainee.trainee_profile)
            assert session.credited_seconds > 0
            frames = [
                SimpleUploadedFile(f"f{i}.jpg", f, "image/jpeg")
                for i, f in enumerate(burst("biden-live"))
            ]
            answer = client_for(personas.trainee).post(
                f"/study/api/sessions/{session.pk}/face/", {"frames": frames}
            )
            assert answer.json()["decision"] == "MISMATCH"
            page.wait_for_timeout(2500)  # the next heartbeat pauses the player
            assert page.evaluate("document.querySelector('.player-video').paused")
        finally:
            close_browser(browser)
    session.refresh_from_db()
    assert session.confirmed_seconds == 0 and session.face_failures == 1
    assert UncreditedInterval.objects.filter(
        session=session, reason="FACE_FAIL", seconds__gt=0
    ).exists()


def test_idling_ends_the_session(live_server, study_setup, personas, chromium_path, settings):
    settings.STUDY_IDLE_MINUTES = 0.05  # 3 s
    settings.STUDY_IDLE_RESPONSE_SECONDS = 3
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser, page = open_player(pw, chromium_path, live_server, personas.trainee, study_setup)
        try:
            page.evaluate(
                "document.querySelector('.player-video').play()"
            )  # no user input from here on
            page.wait_for_selector("[data-idle]:not([hidden])", timeout=20000)  # “还在学习吗？”
            page.wait_for_selector("[data-study][data-state=ended]", timeout=20000)
        finally:
            close_browser(browser)
    session = StudySession.objects.get(trainee=personas.trainee.trainee_profile)
    assert session.end_reason == "idle"


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
    b"endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"
)


def test_a_pdf_lesson_is_credited_its_reading_time(
    live_server, study_setup, personas, chromium_path
):
    from django.core.files.base import ContentFile
    from playwright.sync_api import sync_playwright

    from zhipei.courses.models import Lesson
    from zhipei.courses.services import lesson_create_with_document

    lesson = lesson_create_with_document(
        chapter=study_setup.chapter,
        title="阅读材料",
        document=ContentFile(MINIMAL_PDF, name="doc.pdf"),
        reading_minutes=1,
        by=personas.admin,
    )
    Lesson.objects.filter(pk=lesson.pk).update(
        duration_seconds=8
    )  # a short reading time for the test
    with sync_playwright() as pw:
        browser, page = open_player(pw, chromium_path, live_server, personas.trainee, lesson)
        try:
            assert page.get_attribute("[data-doc]", "src").startswith("/media/lesson/")
            page.click("[data-play]")
            page.wait_for_timeout(11000)
            finish(page)
        finally:
            close_browser(browser)
    progress = LessonProgress.objects.get(trainee=personas.trainee.trainee_profile, lesson=lesson)
    # 8 s of reading, credited in 2 s heartbeats: all of it or nearly, and the lesson is complete.
    assert 5 <= progress.credited_seconds <= 8.5, progress.credited_seconds
    assert progress.completed_at is not None
