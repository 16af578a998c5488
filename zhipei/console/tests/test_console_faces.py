"""The institution's side of face identity: the photo on file, evidence, reviews, non-face route."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from conftest import client_for, give_face_consent
from zhipei.audit.models import AuditEntry
from zhipei.core.tests.factories import make_trainee
from zhipei.faces.models import FaceAttempt, FaceTemplate, FraudAlert, NonFaceCheck

pytestmark = pytest.mark.django_db


def upload(client, profile, data: bytes, name="photo.jpg"):
    return client.post(
        reverse("console:trainee_face", args=[profile.pk]),
        {"photo": SimpleUploadedFile(name, data, content_type="image/jpeg")},
    )


def test_admin_enrols_the_photo_on_file_and_sees_the_evidence(personas, photo):
    give_face_consent(personas.trainee)
    profile = personas.trainee.trainee_profile
    client = client_for(personas.admin)
    response = upload(client, profile, photo("obama_1.jpg"))
    assert response.status_code == 302
    assert FaceTemplate.objects.get(trainee=profile).status == "active"
    page = client.get(reverse("console:trainee_face", args=[profile.pk])).content.decode()
    attempt = FaceAttempt.objects.get(trainee=profile)
    assert reverse("console:face_evidence", args=[attempt.pk]) in page
    image = client.get(reverse("console:face_evidence", args=[attempt.pk]))
    assert image["Content-Type"] == "image/jpeg" and image.content.startswith(b"\xff\xd8")
    assert "no-store" in image["Cache-Control"]
    assert AuditEntry.objects.filter(
        action="face.evidence_view", target_id=str(attempt.pk)
    ).exists()
    # The instructor may look, not enrol; the other institution sees nothing.
    assert upload(client_for(personas.instructor), profile, photo("obama_1.jpg")).status_code == 403
    assert (
        client_for(personas.other_admin)
        .get(reverse("console:face_evidence", args=[attempt.pk]))
        .status_code
        == 404
    )


def truncated_jpeg(photo):
    return photo("obama_1.jpg")[:3000]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda photo: b"", "图像"),
        (lambda photo: b"%PDF-1.4 not an image", "图像"),
        (truncated_jpeg, "图像"),
        (lambda photo: photo("no_face.jpg"), "未检测到人脸"),
        (lambda photo: photo("two_people.jpg"), "多张人脸"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_nothing_is_kept(
    personas, photo, make, message, settings
):
    give_face_consent(personas.trainee)
    profile = personas.trainee.trainee_profile
    response = upload(client_for(personas.admin), profile, make(photo))
    body = response.content.decode()
    assert response.status_code == 200 and "存档照片" in body and message in body
    assert not FaceTemplate.objects.exists()


def test_oversized_and_giant_images_are_refused(personas, photo):
    give_face_consent(personas.trainee)
    profile = personas.trainee.trainee_profile
    client = client_for(personas.admin)
    giant = io.BytesIO()
    Image.new("1", (20000, 20000)).save(giant, "PNG")
    tiny = io.BytesIO()
    Image.new("RGB", (1, 1)).save(tiny, "PNG")
    for data in (b"\xff" * (5 * 1024 * 1024 + 1), giant.getvalue(), tiny.getvalue()):
        body = upload(client, profile, data).content.decode()
        assert "存档照片" in body and "field-error" in body
    assert not FaceTemplate.objects.exists() and not FaceAttempt.objects.exists()


def test_duplicate_face_alert_reaches_the_regulator_and_is_resolved(personas, photo):
    give_face_consent(personas.trainee)
    upload(client_for(personas.admin), personas.trainee.trainee_profile, photo("obama_1.jpg"))
    impostor = make_trainee(personas.inst_b, name="冒名者")
    give_face_consent(impostor)
    upload(client_for(personas.other_admin), impostor.trainee_profile, photo("obama_2.jpg"))
    template = FaceTemplate.objects.get(trainee=impostor.trainee_profile)
    assert template.status == "pending_duplicate"
    # The city regulator sees it; the county regulator (other county, training office) does not.
    assert (
        "冒名者"
        in client_for(personas.city_regulator).get(reverse("portal:alerts")).content.decode()
    )
    assert (
        "冒名者"
        not in client_for(personas.county_regulator).get(reverse("portal:alerts")).content.decode()
    )
    # Institution B's admin resolves it: same person -> rejected.
    reviews = client_for(personas.other_admin).get(reverse("console:face_reviews")).content.decode()
    assert "冒名者" in reviews
    client_for(personas.other_admin).post(
        reverse("console:face_template_decide", args=[template.pk, "reject"])
    )
    template.refresh_from_db()
    alert = FraudAlert.objects.get()
    assert (
        template.status == "rejected"
        and alert.resolution == "same_person"
        and alert.resolved_by == personas.other_admin
    )
    # Institution A's admin cannot act on B's review.
    assert (
        client_for(personas.admin)
        .post(reverse("console:face_template_decide", args=[template.pk, "approve"]))
        .status_code
        == 404
    )


def test_non_face_check_needs_the_trainees_sms_code(personas, monkeypatch):
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 97531)
    profile = personas.trainee.trainee_profile
    client = client_for(personas.admin)
    url = reverse("console:trainee_non_face", args=[profile.pk])
    client.post(url, {"send": "1"})
    data = {
        "purpose": "study_start",
        "reason": "面部烧伤，无法识别",
        "document_checked": "居民身份证",
        "code": "000000",
    }
    assert "验证码错误" in client.post(url, data).content.decode()
    assert not NonFaceCheck.objects.exists()
    data["code"] = "097531"
    assert client.post(url, data).status_code == 302
    check = NonFaceCheck.objects.get()
    assert (
        check.witnessed_by == personas.admin
        and check.purpose == "study_start"
        and check.valid_until > check.at
    )
    assert AuditEntry.objects.filter(action="face.non_face_check").exists()
