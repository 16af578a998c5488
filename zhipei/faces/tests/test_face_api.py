"""The JSON API behind the camera pages: stable codes for bad input, nothing half-written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import client_for, enrol_face, give_face_consent
from zhipei.faces.models import FaceAttempt, FaceTemplate

pytestmark = pytest.mark.django_db


def files(frames):
    return [SimpleUploadedFile(f"f{i}.jpg", f, "image/jpeg") for i, f in enumerate(frames)]


def test_camera_enrolment_then_verification(settings, personas, burst):
    settings.FACE_ACTIVE_PURPOSES = []
    give_face_consent(personas.trainee)
    client = client_for(personas.trainee)
    enrolled = client.post(reverse("faces:enrol"), {"frames": files(burst("obama-live"))})
    assert enrolled.status_code == 200 and enrolled.json()["status"] == "active"
    answer = client.post(
        reverse("faces:verify"), {"purpose": "login", "frames": files(burst("obama-live", start=1))}
    )
    assert answer.json()["decision"] == "MATCH" and answer.json()["ok"] is True
    # A still photo cannot enrol from the camera.
    give_face_consent(personas.trainee_b)
    static = client_for(personas.trainee_b).post(
        reverse("faces:enrol"), {"frames": files(burst("obama-photo-static"))}
    )
    assert static.status_code == 422 and static.json()["code"] == "LIVENESS_FAILED"
    assert not FaceTemplate.objects.filter(trainee=personas.trainee_b.trainee_profile).exists()


@pytest.mark.parametrize(
    ("frame", "status", "code"),
    [
        (b"", 400, "IMAGE_EMPTY"),
        (b"GIF89a\x01\x00\x01\x00", 400, "IMAGE_NOT_AN_IMAGE"),
        (b"\xff" * (5 * 1024 * 1024 + 1), 413, "IMAGE_TOO_LARGE"),
    ],
)
def test_bad_frames_get_stable_codes(personas, photo, burst, frame, status, code):
    enrol_face(
        personas.trainee.trainee_profile, personas.inst_a, personas.admin, photo("obama_1.jpg")
    )
    before = FaceAttempt.objects.count()
    answer = client_for(personas.trainee).post(
        reverse("faces:verify"),
        {"purpose": "login", "frames": files(burst("obama-live")[:4] + [frame])},
    )
    assert (
        answer.status_code == status and answer.json()["code"] == code and answer.json()["message"]
    )
    assert FaceAttempt.objects.count() == before


def test_verify_before_enrolment_and_bad_purpose(personas, burst):
    client = client_for(personas.trainee)
    answer = client.post(
        reverse("faces:verify"), {"purpose": "login", "frames": files(burst("obama-live"))}
    )
    assert answer.status_code == 409 and answer.json()["code"] == "NOT_ENROLLED"
    assert (
        client.post(reverse("faces:verify"), {"purpose": "enrol"}).json()["code"] == "BAD_PURPOSE"
    )
