"""Active liveness on real footage: the challenge is chosen by the server and judged from
68-point landmarks across the burst."""

import pytest
from django.urls import reverse

from conftest import client_for, enrol_face
from zhipei.core.tests.factories import make_trainee
from zhipei.faces.models import Decision
from zhipei.faces.services import FaceError, face_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_login(settings):
    settings.FACE_ACTIVE_PURPOSES = ["login"]


def test_turning_the_head_passes_and_sitting_still_does_not(active_login, personas, photo, burst):
    miranda = make_trainee(personas.inst_a, name="米兰达").trainee_profile
    enrol_face(miranda, personas.inst_a, personas.admin, photo("miranda_1.png"))
    moving = face_verify(
        trainee=miranda,
        institution=personas.inst_a,
        purpose="login",
        challenge="TURN_HEAD",
        frames=burst("miranda-motion", start=5, count=8, step=2),
    )
    assert moving.decision != Decision.LIVENESS_FAILED, moving.message
    obama = personas.trainee.trainee_profile
    enrol_face(obama, personas.inst_a, personas.admin, photo("obama_1.jpg"))
    still = face_verify(
        trainee=obama,
        institution=personas.inst_a,
        purpose="login",
        challenge="TURN_HEAD",
        frames=burst("obama-live"),
    )
    assert still.decision == Decision.LIVENESS_FAILED and "转头" in still.message


def test_no_blink_in_the_stream_fails_a_blink_challenge(active_login, personas, photo, burst):
    obama = personas.trainee.trainee_profile
    enrol_face(obama, personas.inst_a, personas.admin, photo("obama_1.jpg"))
    attempt = face_verify(
        trainee=obama,
        institution=personas.inst_a,
        purpose="login",
        challenge="BLINK",
        frames=burst("obama-live"),
    )
    assert attempt.decision == Decision.LIVENESS_FAILED


def test_a_purpose_with_active_liveness_needs_a_challenge(active_login, personas, photo, burst):
    obama = personas.trainee.trainee_profile
    enrol_face(obama, personas.inst_a, personas.admin, photo("obama_1.jpg"))
    with pytest.raises(FaceError) as exc:
        face_verify(
            trainee=obama, institution=personas.inst_a, purpose="login", frames=burst("obama-live")
        )
    assert exc.value.code == "CHALLENGE_REQUIRED"


def test_the_challenge_lives_in_the_session_not_the_request(active_login, personas, photo, burst):
    """The client cannot pick an easy challenge: the API takes the one the server issued."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    enrol_face(
        personas.trainee.trainee_profile, personas.inst_a, personas.admin, photo("obama_1.jpg")
    )
    client = client_for(personas.trainee)
    frames = [
        SimpleUploadedFile(f"f{i}.jpg", f, "image/jpeg") for i, f in enumerate(burst("obama-live"))
    ]
    refused = client.post(
        reverse("faces:verify"), {"purpose": "login", "challenge": "TURN_HEAD", "frames": frames}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "CHALLENGE_REQUIRED"
    issued = client.post(reverse("faces:challenge"), {"purpose": "login"}).json()
    assert issued["challenge"] in ("BLINK", "TURN_HEAD", "OPEN_MOUTH") and issued["instruction"]
    frames = [
        SimpleUploadedFile(f"f{i}.jpg", f, "image/jpeg")
        for i, f in enumerate(burst("obama-live", start=1))
    ]
    answer = client.post(reverse("faces:verify"), {"purpose": "login", "frames": frames}).json()
    assert answer["decision"] == "LIVENESS_FAILED"  # obama-live performs none of the actions
    # Used once: the next request needs a new challenge.
    frames = [
        SimpleUploadedFile(f"f{i}.jpg", f, "image/jpeg")
        for i, f in enumerate(burst("obama-live", start=2))
    ]
    assert (
        client.post(reverse("faces:verify"), {"purpose": "login", "frames": frames}).status_code
        == 409
    )


def test_switching_active_liveness_off_skips_the_68_point_model(settings, personas, photo, burst):
    settings.FACE_ACTIVE_LIVENESS = False
    settings.FACE_ACTIVE_PURPOSES = ["login"]
    obama = personas.trainee.trainee_profile
    enrol_face(obama, personas.inst_a, personas.admin, photo("obama_1.jpg"))
    attempt = face_verify(
        trainee=obama, institution=personas.inst_a, purpose="login", frames=burst("obama-live")
    )
    assert attempt.decision == Decision.MATCH
