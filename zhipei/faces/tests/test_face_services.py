"""face_enrol / face_verify on real photos and webcam streams, through the whole service."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from conftest import enrol_face, give_face_consent
from zhipei.accounts.services import consent_withdraw
from zhipei.core.tests.factories import make_trainee
from zhipei.faces.models import Decision, FaceAttempt, FaceTemplate, FraudAlert
from zhipei.faces.services import (
    FaceError,
    evidence_image,
    face_enrol,
    face_verify,
    template_descriptor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(personas, photo):
    profile = personas.trainee.trainee_profile
    enrol_face(profile, personas.inst_a, personas.admin, photo("obama_1.jpg"))
    return profile


def verify(profile, personas, frames, purpose="login"):
    return face_verify(trainee=profile, institution=personas.inst_a, frames=frames, purpose=purpose)


def test_admin_upload_enrols_an_encrypted_template(enrolled):
    template = FaceTemplate.objects.get(trainee=enrolled)
    assert template.status == FaceTemplate.Status.ACTIVE
    assert template_descriptor(template).shape == (128,)
    attempt = FaceAttempt.objects.get(trainee=enrolled)
    assert attempt.decision == Decision.ENROLLED


def test_live_obama_matches(enrolled, personas, burst):
    attempt = verify(enrolled, personas, burst("obama-live"))
    assert attempt.decision == Decision.MATCH, attempt.message
    assert 0.3 < attempt.distance < 0.45
    assert attempt.passed and attempt.threshold == 0.5


def test_live_biden_is_a_mismatch(enrolled, personas, burst):
    attempt = verify(enrolled, personas, burst("biden-live"))
    assert attempt.decision == Decision.MISMATCH
    assert attempt.distance > 0.7


@pytest.mark.parametrize(
    ("stream", "decision"),
    [
        ("empty-room", Decision.NO_FACE),
        ("two-people", Decision.MULTIPLE_FACES),
        ("obama-photo-static", Decision.LIVENESS_FAILED),
    ],
)
def test_refusals_have_their_reason(enrolled, personas, burst, stream, decision):
    attempt = verify(enrolled, personas, burst(stream))
    assert attempt.decision == decision
    assert not attempt.passed and attempt.message


def test_a_replayed_burst_fails_liveness(enrolled, personas, burst):
    frames = burst("obama-live")
    assert verify(enrolled, personas, frames).passed
    again = verify(enrolled, personas, frames)
    assert again.decision == Decision.LIVENESS_FAILED and "重放" in again.message


def test_evidence_is_encrypted_and_stamped(enrolled, personas, burst):
    attempt = verify(enrolled, personas, burst("obama-live"))
    with default_storage.open(attempt.evidence, "rb") as fh:
        stored = fh.read()
    assert not stored.startswith(b"\xff\xd8") and stored.startswith(b"zp1$")
    stamped = Image.open(io.BytesIO(evidence_image(attempt)))
    assert stamped.format == "JPEG"
    # The bottom band (institution, trainee, time) is darkened text on a translucent bar.
    from PIL import ImageStat

    band = stamped.crop((0, stamped.height - 20, stamped.width, stamped.height)).convert("L")
    top = stamped.crop((0, 0, stamped.width, 20)).convert("L")
    assert ImageStat.Stat(band).mean[0] < ImageStat.Stat(top).mean[0]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "IMAGE_EMPTY"),
        (b"not an image at all", "IMAGE_NOT_AN_IMAGE"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, None),
    ],
)
def test_bad_frames_are_refused_and_nothing_is_written(enrolled, personas, burst, payload, code):
    before = FaceAttempt.objects.count()
    frames = burst("obama-live")[:4] + [payload]
    with pytest.raises(FaceError) as exc:
        verify(enrolled, personas, frames)
    if code:
        assert exc.value.code == code
    assert exc.value.message.startswith("第 5 帧")
    assert FaceAttempt.objects.count() == before


def test_tiny_and_huge_images_are_refused(enrolled, personas):
    tiny = io.BytesIO()
    Image.new("RGB", (1, 1)).save(tiny, "PNG")
    huge = io.BytesIO()
    Image.new("1", (20000, 20000)).save(huge, "PNG")
    for data in (tiny.getvalue(), huge.getvalue()):
        with pytest.raises(FaceError):
            verify(enrolled, personas, [data] * 3)


def test_burst_size_is_enforced(enrolled, personas, burst):
    with pytest.raises(FaceError) as exc:
        verify(enrolled, personas, burst("obama-live")[:2])
    assert exc.value.code == "BAD_BURST"


def test_enrolment_needs_face_consent(personas, photo):
    with pytest.raises(FaceError) as exc:
        face_enrol(
            trainee=personas.trainee.trainee_profile,
            institution=personas.inst_a,
            frames=[photo("obama_1.jpg")],
            source=FaceTemplate.Source.ADMIN_UPLOAD,
            by=personas.admin,
        )
    assert exc.value.code == "NO_CONSENT"
    assert not FaceTemplate.objects.exists()


@pytest.mark.parametrize(
    ("name", "code"), [("no_face.jpg", "NO_FACE"), ("two_people.jpg", "MULTIPLE_FACES")]
)
def test_enrolment_quality_gates(personas, photo, name, code):
    give_face_consent(personas.trainee)
    with pytest.raises(FaceError) as exc:
        face_enrol(
            trainee=personas.trainee.trainee_profile,
            institution=personas.inst_a,
            frames=[photo(name)],
            source=FaceTemplate.Source.ADMIN_UPLOAD,
            by=personas.admin,
        )
    assert exc.value.code == code
    assert not FaceTemplate.objects.exists()


def test_re_enrolment_waits_for_an_admin(enrolled, personas, photo):
    from zhipei.faces.services import face_template_decide

    second = face_enrol(
        trainee=enrolled,
        institution=personas.inst_a,
        frames=[photo("obama_2.jpg")],
        source=FaceTemplate.Source.ADMIN_UPLOAD,
        by=personas.admin,
    )
    assert second.status == FaceTemplate.Status.PENDING_APPROVAL
    with pytest.raises(FaceError) as exc:  # four eyes: not by the admin who uploaded it
        face_template_decide(template=second, approve=True, by=personas.admin)
    assert exc.value.code == "FOUR_EYES"
    from zhipei.core.tests.factories import UserFactory

    second_admin = UserFactory(username="admin_a2", role="inst_admin", institution=personas.inst_a)
    face_template_decide(template=second, approve=True, by=second_admin)
    statuses = dict(FaceTemplate.objects.filter(trainee=enrolled).values_list("pk", "status"))
    assert statuses[second.pk] == FaceTemplate.Status.ACTIVE
    assert sorted(statuses.values()) == ["active", "replaced"]


def test_the_same_face_on_two_accounts_blocks_and_alerts(enrolled, personas, photo):
    other = make_trainee(personas.inst_b, name="冒名者").trainee_profile
    give_face_consent(other.user)
    template = face_enrol(
        trainee=other,
        institution=personas.inst_b,
        frames=[photo("obama_2.jpg")],
        source=FaceTemplate.Source.ADMIN_UPLOAD,
        by=personas.other_admin,
    )
    assert template.status == FaceTemplate.Status.PENDING_DUPLICATE
    alert = FraudAlert.objects.get()
    assert alert.trainee == other and alert.other_trainee == enrolled and alert.distance < 0.5
    # Someone else's face is no duplicate.
    third = make_trainee(personas.inst_b, name="拜登").trainee_profile
    give_face_consent(third.user)
    assert (
        face_enrol(
            trainee=third,
            institution=personas.inst_b,
            frames=[photo("biden_1.jpg")],
            source=FaceTemplate.Source.ADMIN_UPLOAD,
            by=personas.other_admin,
        ).status
        == "active"
    )


def test_withdrawing_face_consent_erases_the_template(enrolled, personas, rf):
    from zhipei.accounts.models import ConsentDocument

    request = rf.post("/")
    request.user = personas.trainee
    consent_withdraw(
        user=personas.trainee,
        document=ConsentDocument.objects.get(kind="biometric"),
        request=request,
    )
    template = FaceTemplate.objects.get(trainee=enrolled)
    assert template.status == FaceTemplate.Status.ERASED and template.descriptor is None


def test_a_template_copied_to_another_trainee_is_refused(enrolled, personas, burst):
    other = make_trainee(personas.inst_a, name="王五").trainee_profile
    stolen = FaceTemplate.objects.get(trainee=enrolled)
    FaceTemplate.objects.create(
        trainee=other,
        institution=personas.inst_a,
        status="active",
        source="camera",
        descriptor=stolen.descriptor,
    )
    with pytest.raises(FaceError) as exc:
        face_verify(
            trainee=other, institution=personas.inst_a, frames=burst("obama-live"), purpose="login"
        )
    assert exc.value.code == "TEMPLATE_INVALID"


def test_a_240p_photo_still_verifies_but_cannot_enrol(enrolled, personas, photo):
    """The 240p photo's face is 73 px wide: below the 80 px enrolment gate, yet it must match."""
    import numpy as np

    low = photo("obama_3_240p.jpg")
    image = Image.open(io.BytesIO(low)).convert("RGB")
    # Three slightly different frames (sensor-like noise) so the burst is not a still image.
    rng = np.random.default_rng(7)
    frames = []
    for _ in range(3):
        noisy = np.clip(
            np.asarray(image, dtype=np.int16)
            + rng.integers(-12, 13, (image.height, image.width, 3)),
            0,
            255,
        )
        out = io.BytesIO()
        Image.fromarray(noisy.astype(np.uint8)).save(out, "JPEG", quality=92)
        frames.append(out.getvalue())
    attempt = verify(enrolled, personas, frames)
    assert attempt.decision == Decision.MATCH, attempt.message
    with pytest.raises(FaceError) as exc:
        face_enrol(
            trainee=enrolled,
            institution=personas.inst_a,
            frames=[low],
            source=FaceTemplate.Source.ADMIN_UPLOAD,
            by=personas.admin,
        )
    assert exc.value.code == "LOW_QUALITY" and "过小" in exc.value.message


def test_one_frame_sent_before_is_enough_to_fail_as_a_replay(enrolled, personas, burst):
    first = burst("obama-live")
    assert verify(enrolled, personas, first).passed
    mixed = first[:4] + burst("obama-live", start=1, count=1)
    again = verify(enrolled, personas, mixed)
    assert again.decision == Decision.LIVENESS_FAILED and "重放" in again.message
