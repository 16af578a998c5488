"""The camera pages in a real Chromium whose camera is a fake stream from ../shared/testdata.

Trainee A is enrolled from faces/obama_1.jpg by an admin upload; then each stream is shown to
the verification page: obama-live matches, biden-live does not, empty-room has no face,
two-people has two, obama-photo-static fails liveness.
"""

import pytest

from conftest import close_browser, enrol_face, give_face_consent, logged_in_page
from zhipei.faces.models import FaceAttempt, FaceTemplate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrolled_trainee(personas, photo):
    enrol_face(
        personas.trainee.trainee_profile, personas.inst_a, personas.admin, photo("obama_1.jpg")
    )
    return personas.trainee


def verify_in_browser(chromium_path, live_server, trainee, stream) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser, page = logged_in_page(pw, chromium_path, live_server, trainee, stream=stream)
        try:
            page.goto(f"{live_server.url}/face/verify/")
            page.wait_for_selector("[data-face-capture][data-state=ready]", timeout=15000)
            page.click("[data-face-start]")
            page.wait_for_selector("[data-face-capture][data-state=done]", timeout=30000)
            return (
                page.inner_text("[data-face-result]") + "|" + page.inner_text("[data-face-status]")
            )
        finally:
            close_browser(browser)


@pytest.mark.parametrize(
    ("stream", "decision"),
    [
        ("obama-live", "MATCH"),
        ("biden-live", "MISMATCH"),
        ("empty-room", "NO_FACE"),
        ("two-people", "MULTIPLE_FACES"),
        ("obama-photo-static", "LIVENESS_FAILED"),
    ],
)
def test_camera_verification(live_server, enrolled_trainee, chromium_path, stream, decision):
    result = verify_in_browser(chromium_path, live_server, enrolled_trainee, stream)
    assert result.split("|")[0] == decision, result
    attempt = FaceAttempt.objects.filter(trainee__user=enrolled_trainee, purpose="login").latest(
        "at"
    )
    assert attempt.decision == decision and attempt.frame_count == 5 and attempt.evidence


def test_camera_enrolment(live_server, personas, chromium_path, settings):
    """Enrolment through getUserMedia (the fake camera cannot answer a challenge, so the enrol
    purpose's active check is switched off here; it is tested on real footage elsewhere)."""
    from playwright.sync_api import sync_playwright

    settings.FACE_ACTIVE_PURPOSES = []
    give_face_consent(personas.trainee)
    with sync_playwright() as pw:
        browser, page = logged_in_page(
            pw, chromium_path, live_server, personas.trainee, stream="obama-live"
        )
        try:
            page.goto(f"{live_server.url}/face/enrol/")
            page.wait_for_selector("[data-face-capture][data-state=ready]", timeout=15000)
            page.click("[data-face-start]")
            page.wait_for_selector("[data-face-capture][data-state=done]", timeout=30000)
            assert page.inner_text("[data-face-result]") == "active"
            assert "人脸采集成功" in page.inner_text("[data-face-status]")
        finally:
            close_browser(browser)
    template = FaceTemplate.objects.get(trainee=personas.trainee.trainee_profile)
    assert template.status == "active" and template.source == "camera"
