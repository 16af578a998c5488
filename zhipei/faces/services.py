"""Face identity services: enrolment, verification with liveness, evidence, duplicates.

``face_verify`` is what the study player and exams call. Everything it decides is recorded as a
FaceAttempt with its stamped, encrypted evidence frame.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import struct
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from PIL import Image, ImageDraw, ImageFont

from zhipei.audit.services import audit_log
from zhipei.core.crypto import field_cipher
from zhipei.faces.models import (
    Decision,
    FaceAttempt,
    FaceTemplate,
    FraudAlert,
    NonFaceCheck,
    Purpose,
)
from zhipei.lib import face as fe
from zhipei.lib.fonts import cjk_font_path

if TYPE_CHECKING:
    from zhipei.accounts.models import TraineeProfile, User
    from zhipei.institutions.models import Institution

EVIDENCE_AAD = "faces.FaceAttempt.evidence"
# Within this distance of the threshold a second frame's descriptor is averaged in.
BORDERLINE = 0.05


class FaceError(Exception):
    """Input that cannot be judged at all (bad image, no consent, not enrolled): nothing recorded."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@cache
def engine(*, enrolment: bool = False) -> fe.FaceEngine:
    """Enrolment holds the stricter size gate (a template must be good); verification accepts
    the smaller faces of low-resolution phone cameras (240p), which still match reliably."""
    min_face = settings.FACE_MIN_FACE_PX if enrolment else settings.FACE_VERIFY_MIN_FACE_PX
    return fe.FaceEngine(min_face_px=min_face, use_68_landmarks=settings.FACE_ACTIVE_LIVENESS)


def active_liveness_required(purpose: str) -> bool:
    return settings.FACE_ACTIVE_LIVENESS and purpose in settings.FACE_ACTIVE_PURPOSES


# --- templates ------------------------------------------------------------------------------


def _seal_descriptor(trainee_id: int, descriptor: np.ndarray) -> bytes:
    """The descriptor with its owner's id inside the encrypted blob: a template copied onto
    another trainee's row in the database no longer decrypts as theirs."""
    return struct.pack("<q", trainee_id) + fe.descriptor_to_bytes(descriptor)


def template_descriptor(template: FaceTemplate) -> np.ndarray:
    blob = template.descriptor or b""
    if len(blob) < 8 or struct.unpack("<q", blob[:8])[0] != template.trainee_id:
        raise FaceError("TEMPLATE_INVALID", _("人脸模板无效，请联系机构重新采集"), status=409)
    return fe.descriptor_from_bytes(blob[8:])


# --- challenges -------------------------------------------------------------------------------


def face_challenge_issue(session: Any, purpose: str) -> str | None:
    """A random action for active liveness, kept server-side in the session (never trusted from
    the client); None when the purpose needs no active check."""
    if not active_liveness_required(purpose):
        return None
    key = f"face_challenge:{purpose}"
    pending = session.get(key)
    if pending and time.time() - pending["at"] <= settings.FACE_CHALLENGE_SECONDS:
        # Asking again returns the same action: re-rolling until an easy one comes is pointless.
        return str(pending["challenge"])
    challenge = secrets.choice(list(fe.Challenge))
    session[key] = {"challenge": str(challenge), "at": time.time()}
    return str(challenge)


def face_challenge_take(session: Any, purpose: str) -> str | None:
    """The pending challenge for ``purpose``, used once; None if absent or expired."""
    data = session.pop(f"face_challenge:{purpose}", None)
    if not data or time.time() - data["at"] > settings.FACE_CHALLENGE_SECONDS:
        return None
    return str(data["challenge"])


CHALLENGE_TEXT = {
    fe.Challenge.BLINK: gettext_lazy("请眨眨眼"),
    fe.Challenge.TURN_HEAD: gettext_lazy("请缓慢向左或向右转头"),
    fe.Challenge.OPEN_MOUTH: gettext_lazy("请张嘴"),
}


# --- decoding and judging -----------------------------------------------------------------------


def _decode_burst(frames: list[bytes], *, minimum: int) -> list[np.ndarray]:
    if not minimum <= len(frames) <= settings.FACE_BURST_MAX_FRAMES:
        raise FaceError(
            "BAD_BURST",
            ngettext(
                "需要 %(minimum)s–%(maximum)s 帧图像，收到 %(count)s 帧",
                "需要 %(minimum)s–%(maximum)s 帧图像，收到 %(count)s 帧",
                len(frames),
            )
            % {
                "minimum": minimum,
                "maximum": settings.FACE_BURST_MAX_FRAMES,
                "count": len(frames),
            },
        )
    images = []
    for n, data in enumerate(frames, start=1):
        try:
            images.append(fe.decode_image(data))
        except fe.FaceImageError as exc:
            raise FaceError(
                f"IMAGE_{exc.code}", _("第 %(n)s 帧：%(error)s") % {"n": n, "error": exc}
            ) from exc
    return images


@dataclass
class Judgement:
    decision: str
    message: str
    best: int  # index of the frame kept as evidence
    distance: float | None = None
    motion: float | None = None


def _quality_failure(observations: list[fe.FaceObservation]) -> Judgement | None:
    multiple = [i for i, o in enumerate(observations) if o.quality == fe.Quality.MULTIPLE_FACES]
    if multiple:
        # Anyone else in the picture is a refusal, even in one frame.
        return Judgement(
            Decision.MULTIPLE_FACES, _("检测到多张人脸，请确保画面中只有本人"), multiple[0]
        )
    if any(o.quality == fe.Quality.OK for o in observations):
        return None
    counts = Counter(o.quality for o in observations)
    if counts[fe.Quality.NO_FACE] * 2 > len(observations):
        return Judgement(Decision.NO_FACE, _("未检测到人脸，请正对摄像头"), 0)
    worst = counts.most_common(1)[0][0]
    index = next(i for i, o in enumerate(observations) if o.quality == worst)
    return Judgement(Decision.LOW_QUALITY, observations[index].message, index)


def frame_digest(data: bytes) -> str:
    """An exact fingerprint of a submitted frame (its bytes), kept beside the perceptual hashes."""
    return "x:" + hashlib.sha256(data).hexdigest()[:24]


def _previous_hashes(trainee: TraineeProfile) -> set[str]:
    rows = FaceAttempt.objects.filter(trainee=trainee).order_by("-at")[
        : settings.FACE_REPLAY_LOOKBACK
    ]
    return {h for hashes in rows.values_list("frame_hashes", flat=True) for h in hashes}


def _good_frames(observations: list[fe.FaceObservation]) -> list[int]:
    """Indexes of the frames that passed the quality gates, sharpest first."""
    ok = (i for i, o in enumerate(observations) if o.quality == fe.Quality.OK)
    return sorted(ok, key=lambda i: observations[i].sharpness, reverse=True)


def _liveness_failure(
    *,
    trainee: TraineeProfile,
    images: list[np.ndarray],
    observations: list[fe.FaceObservation],
    challenge: str | None,
    digests: set[str],
) -> tuple[Judgement | None, float]:
    """Passive liveness (a still burst, a replay), then the active challenge if one was issued.
    Returns the failure, if any, and the burst's motion (recorded with the attempt)."""
    best = _good_frames(observations)[0]
    motion = fe.burst_motion(images)
    if motion < fe.STATIC_BURST_MAX_MOTION:
        message = _("画面静止不动，疑似照片或翻拍，请本人正对摄像头")
        return Judgement(Decision.LIVENESS_FAILED, message, best, motion=motion), motion
    hashes = {f"{o.dhash:016x}" for o in observations}
    previous = _previous_hashes(trainee)
    # Any frame byte-identical to one sent before (cameras never repeat a frame exactly), or
    # every frame perceptually identical to earlier ones (a re-encoded replay): a replay.
    if (digests & previous) or hashes <= previous:
        message = _("图像与历史提交完全相同，疑似重放")
        return Judgement(Decision.LIVENESS_FAILED, message, best, motion=motion), motion
    if challenge:
        series = [
            o.landmarks68
            for o in observations
            if o.quality == fe.Quality.OK and o.landmarks68 is not None
        ]
        if not fe.challenge_passed(fe.Challenge(challenge), series):
            message = _("未检测到指定动作（%(action)s），请重试") % {
                "action": CHALLENGE_TEXT[fe.Challenge(challenge)]
            }
            return Judgement(Decision.LIVENESS_FAILED, message, best, motion=motion), motion
    return None, motion


def _judge(
    *,
    trainee: TraineeProfile,
    images: list[np.ndarray],
    observations: list[fe.FaceObservation],
    reference: np.ndarray,
    challenge: str | None,
    digests: set[str],
) -> Judgement:
    failed = _quality_failure(observations)
    if failed is not None:
        return failed
    failed, motion = _liveness_failure(
        trainee=trainee,
        images=images,
        observations=observations,
        challenge=challenge,
        digests=digests,
    )
    if failed is not None:
        return failed
    ok = _good_frames(observations)
    # The descriptor is the costly step: one frame, a second only when the first is borderline.
    threshold = settings.FACE_MATCH_THRESHOLD
    dist = _distance_of(images[ok[0]], reference)
    if abs(dist - threshold) < BORDERLINE and len(ok) > 1:
        dist = (dist + _distance_of(images[ok[1]], reference)) / 2
    if dist <= threshold:
        return Judgement(Decision.MATCH, _("人脸核验通过"), ok[0], distance=dist, motion=motion)
    return Judgement(
        Decision.MISMATCH, _("人脸与本人采集的人脸不一致"), ok[0], distance=dist, motion=motion
    )


def _distance_of(image: np.ndarray, reference: np.ndarray) -> float:
    observation = engine().analyse(image, descriptor=True)
    if observation.descriptor is None:  # cannot happen for a frame that passed the gates
        return float("inf")
    return fe.distance(observation.descriptor, reference)


# --- evidence ---------------------------------------------------------------------------------


def stamp(image: np.ndarray, lines: list[str]) -> bytes:
    """JPEG of the frame with the given lines burned into a band at the bottom (JT/T 1302.1)."""
    picture = Image.fromarray(image)
    if max(picture.size) > 960:
        picture.thumbnail((960, 960))
    size = max(14, picture.width // 36)
    font = ImageFont.truetype(str(cjk_font_path()), size)
    band = (size + 6) * len(lines) + 8
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, picture.height - band, picture.width, picture.height), fill=(0, 0, 0, 150))
    for n, line in enumerate(lines):
        draw.text(
            (8, picture.height - band + 4 + n * (size + 6)),
            line,
            font=font,
            fill=(255, 255, 255, 255),
        )
    out = io.BytesIO()
    Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB").save(
        out, "JPEG", quality=85
    )
    return out.getvalue()


def _evidence_lines(
    trainee: TraineeProfile, institution: Institution, purpose: str, at: Any
) -> list[str]:
    local = timezone.localtime(at)
    return [
        institution.name,
        f"{trainee.user.name} {trainee.id_number_masked}  {Purpose(purpose).label}",
        _("%(time)s 北京时间") % {"time": f"{local:%Y-%m-%d %H:%M:%S}"},
    ]


def _store_evidence(
    image: np.ndarray, *, trainee: TraineeProfile, institution: Institution, purpose: str, at: Any
) -> str:
    jpeg = stamp(image, _evidence_lines(trainee, institution, purpose, at))
    token = field_cipher().encrypt_bytes(jpeg, context=EVIDENCE_AAD)
    name = f"evidence/{institution.pk}/{timezone.localtime(at):%Y/%m}/{uuid.uuid4().hex}.jpg.enc"
    return default_storage.save(name, ContentFile(token))


def evidence_image(attempt: FaceAttempt) -> bytes:
    """The decrypted, stamped JPEG of an attempt (callers audit the view)."""
    with default_storage.open(attempt.evidence, "rb") as fh:
        return field_cipher().decrypt_bytes(fh.read(), context=EVIDENCE_AAD)


def _record(
    *,
    trainee: TraineeProfile,
    institution: Institution,
    purpose: str,
    judgement: Judgement,
    images: list[np.ndarray],
    observations: list[fe.FaceObservation],
    challenge: str | None,
    context: str,
    request: HttpRequest | None,
    actor: User | None,
    digests: set[str] | None = None,
) -> FaceAttempt:
    at = timezone.now()
    evidence = _store_evidence(
        images[judgement.best], trainee=trainee, institution=institution, purpose=purpose, at=at
    )
    try:
        with transaction.atomic():
            attempt = FaceAttempt.objects.create(
                trainee=trainee,
                institution=institution,
                purpose=purpose,
                at=at,
                decision=judgement.decision,
                distance=judgement.distance,
                threshold=settings.FACE_MATCH_THRESHOLD if judgement.distance is not None else None,
                message=judgement.message,
                challenge=challenge or "",
                motion=judgement.motion,
                frame_count=len(images),
                frame_hashes=[f"{o.dhash:016x}" for o in observations] + sorted(digests or ()),
                evidence=evidence,
                context=context[:64],
            )
            audit_log(
                action=f"face.{purpose}",
                actor=actor or trainee.user,
                request=request,
                target=attempt,
                institution_id=institution.pk,
                result="success"
                if judgement.decision in (Decision.MATCH, Decision.ENROLLED)
                else "failure",
                detail={"decision": judgement.decision},
            )
    except Exception:
        # No half-written record: the evidence file goes if its row could not be written.
        default_storage.delete(evidence)
        raise
    return attempt


# --- verification -----------------------------------------------------------------------------


def face_verify(
    *,
    trainee: TraineeProfile,
    institution: Institution,
    frames: list[bytes],
    purpose: str,
    challenge: str | None = None,
    context: str = "",
    request: HttpRequest | None = None,
) -> FaceAttempt:
    """Judge a short burst (3–5 frames) against the trainee's active template and record it.

    The decision is one of Decision; ``attempt.passed`` is True only for MATCH. Raises FaceError
    (nothing recorded) for unusable input: bad images, a burst of the wrong size, no template,
    or a purpose that needs an active-liveness challenge that was not issued.
    """
    if purpose == Purpose.ENROL or purpose not in Purpose.values:
        raise FaceError("BAD_PURPOSE", _("核验用途无效"))
    images = _decode_burst(frames, minimum=settings.FACE_BURST_MIN_FRAMES)
    template = FaceTemplate.objects.filter(
        trainee=trainee, status=FaceTemplate.Status.ACTIVE
    ).first()
    if template is None or template.descriptor is None:
        raise FaceError(
            "NOT_ENROLLED", _("尚未完成人脸采集（或采集待审核），请先采集人脸"), status=409
        )
    if active_liveness_required(purpose) and not challenge:
        raise FaceError(
            "CHALLENGE_REQUIRED", _("请先获取活体检测动作，再按提示完成核验"), status=409
        )
    observations = [
        engine().analyse(img, descriptor=False, landmarks68=bool(challenge)) for img in images
    ]
    digests = {frame_digest(data) for data in frames}
    judgement = _judge(
        trainee=trainee,
        images=images,
        observations=observations,
        reference=template_descriptor(template),
        challenge=challenge,
        digests=digests,
    )
    return _record(
        digests=digests,
        trainee=trainee,
        institution=institution,
        purpose=purpose,
        judgement=judgement,
        images=images,
        observations=observations,
        challenge=challenge,
        context=context,
        request=request,
        actor=None,
    )


# --- enrolment --------------------------------------------------------------------------------


def _require_biometric_consent(trainee: TraineeProfile) -> None:
    from zhipei.accounts.models import ConsentDocument
    from zhipei.accounts.selectors import consent_given

    if not consent_given(trainee.user, ConsentDocument.Kind.BIOMETRIC):
        raise FaceError(
            "NO_CONSENT", _("学员尚未同意《人脸信息处理单独同意书》，不能采集人脸"), status=409
        )


def _duplicates(
    descriptor: np.ndarray, *, trainee: TraineeProfile, institution: Institution
) -> list[tuple[FaceTemplate, float]]:
    """Templates of other people in the institution and its city whose face is this one."""
    city_prefix = institution.region.code[:4]
    candidates = list(
        FaceTemplate.objects.filter(
            status__in=[
                FaceTemplate.Status.ACTIVE,
                FaceTemplate.Status.PENDING_APPROVAL,
                FaceTemplate.Status.PENDING_DUPLICATE,
            ],
            institution__region__code__startswith=city_prefix,
        )
        .exclude(trainee=trainee)
        .only("id", "trainee_id", "descriptor")
    )
    if not candidates:
        return []
    candidates = [t for t in candidates if t.descriptor]
    if not candidates:
        return []
    gallery = np.stack([template_descriptor(t) for t in candidates])
    found = fe.distances(descriptor, gallery)
    hits = np.flatnonzero(found <= settings.FACE_DUPLICATE_THRESHOLD)
    return [(candidates[i], float(found[i])) for i in hits[np.argsort(found[hits])]]


def face_enrol(
    *,
    trainee: TraineeProfile,
    institution: Institution,
    frames: list[bytes],
    source: str,
    by: User,
    challenge: str | None = None,
    request: HttpRequest | None = None,
) -> FaceTemplate:
    """Enrol from the camera (a live burst) or from the photo on file (one image, by an admin).

    The template is ACTIVE, or PENDING_APPROVAL when the trainee already has one (re-enrolment
    needs an admin), or PENDING_DUPLICATE when the face is another account's (fraud alert).
    Quality failures raise FaceError with the gate's own message; nothing is stored then.
    """
    _require_biometric_consent(trainee)
    camera = source == FaceTemplate.Source.CAMERA
    images = _decode_burst(frames, minimum=settings.FACE_BURST_MIN_FRAMES if camera else 1)
    if camera and active_liveness_required(Purpose.ENROL) and not challenge:
        raise FaceError(
            "CHALLENGE_REQUIRED", _("请先获取活体检测动作，再按提示完成采集"), status=409
        )
    observations = [
        engine(enrolment=True).analyse(img, descriptor=False, landmarks68=bool(challenge))
        for img in images
    ]
    digests = {frame_digest(data) for data in frames}
    judgement = _quality_failure(observations)
    if judgement is None and camera:
        judgement, _motion = _liveness_failure(
            trainee=trainee,
            images=images,
            observations=observations,
            challenge=challenge,
            digests=digests,
        )
    if judgement is not None:
        _record(
            digests=digests,
            trainee=trainee,
            institution=institution,
            purpose=Purpose.ENROL,
            judgement=judgement,
            images=images,
            observations=observations,
            challenge=challenge,
            context="",
            request=request,
            actor=by,
        )
        raise FaceError(judgement.decision, judgement.message, status=422)
    best = _good_frames(observations)[0]
    described = engine(enrolment=True).analyse(images[best], descriptor=True)
    assert described.descriptor is not None  # noqa: S101 - the frame passed the gates above
    duplicates = _duplicates(described.descriptor, trainee=trainee, institution=institution)
    with transaction.atomic():
        has_active = (
            FaceTemplate.objects.select_for_update()
            .filter(trainee=trainee, status=FaceTemplate.Status.ACTIVE)
            .exists()
        )
        status = (
            FaceTemplate.Status.PENDING_DUPLICATE
            if duplicates
            else FaceTemplate.Status.PENDING_APPROVAL
            if has_active
            else FaceTemplate.Status.ACTIVE
        )
        # Pending requests of this trainee are superseded by the new one.
        FaceTemplate.objects.filter(
            trainee=trainee,
            status__in=[
                FaceTemplate.Status.PENDING_APPROVAL,
                FaceTemplate.Status.PENDING_DUPLICATE,
            ],
        ).update(status=FaceTemplate.Status.REJECTED, descriptor="", decided_at=timezone.now())
        template = FaceTemplate.objects.create(
            trainee=trainee,
            institution=institution,
            status=status,
            source=source,
            created_by=by,
            descriptor=_seal_descriptor(trainee.pk, described.descriptor),
        )
        for other, dist in duplicates:
            FraudAlert.objects.create(
                kind=FraudAlert.Kind.DUPLICATE_FACE,
                institution=institution,
                trainee=trainee,
                other_trainee=other.trainee,
                template=template,
                distance=dist,
            )
        accepted = Judgement(Decision.ENROLLED, template.get_status_display(), best)
        attempt = _record(
            digests=digests,
            trainee=trainee,
            institution=institution,
            purpose=Purpose.ENROL,
            judgement=accepted,
            images=images,
            observations=observations,
            challenge=challenge,
            context=f"template:{template.pk}",
            request=request,
            actor=by,
        )
        audit_log(
            action="face.template_create",
            actor=by,
            request=request,
            target=template,
            institution_id=institution.pk,
            detail={
                "status": status,
                "source": source,
                "duplicates": len(duplicates),
                "attempt": attempt.pk,
            },
        )
    return template


def face_template_decide(
    *,
    template: FaceTemplate,
    approve: bool,
    by: User,
    request: HttpRequest | None = None,
    note: str = "",
) -> None:
    """An admin approves or rejects a pending template (re-enrolment, or a duplicate-face alert)."""
    with transaction.atomic():
        template = FaceTemplate.objects.select_for_update().get(pk=template.pk)
        if template.status not in (
            FaceTemplate.Status.PENDING_APPROVAL,
            FaceTemplate.Status.PENDING_DUPLICATE,
        ):
            raise FaceError("NOT_PENDING", _("该人脸采集不在待审批状态"), status=409)
        if (
            approve
            and template.source == FaceTemplate.Source.ADMIN_UPLOAD
            and template.created_by_id == by.pk
        ):
            # Four eyes: the admin who uploaded a replacement photo cannot also approve it.
            raise FaceError("FOUR_EYES", _("自己上传的人脸照片须由另一位管理员审批"), status=409)
        now = timezone.now()
        was_duplicate = template.status == FaceTemplate.Status.PENDING_DUPLICATE
        if approve:
            FaceTemplate.objects.filter(
                trainee=template.trainee, status=FaceTemplate.Status.ACTIVE
            ).update(
                status=FaceTemplate.Status.REPLACED, descriptor="", decided_at=now, decided_by=by
            )
            template.status = FaceTemplate.Status.ACTIVE
        else:
            template.status, template.descriptor = FaceTemplate.Status.REJECTED, ""
        template.decided_at, template.decided_by = now, by
        template.save(update_fields=["status", "descriptor", "decided_at", "decided_by"])
        if was_duplicate:
            resolution = (
                FraudAlert.Resolution.DIFFERENT_PEOPLE
                if approve
                else FraudAlert.Resolution.SAME_PERSON
            )
            template.alerts.filter(resolved_at__isnull=True).update(
                resolved_at=now, resolved_by=by, resolution=resolution, note=note[:200]
            )
        audit_log(
            action="face.template_approve" if approve else "face.template_reject",
            actor=by,
            request=request,
            target=template,
            institution_id=template.institution_id,
            detail={"duplicate": was_duplicate},
        )


def face_templates_erase(*, trainee: TraineeProfile, request: HttpRequest | None = None) -> int:
    """Consent withdrawn: the descriptors go at once (evidence images stay with the archive)."""
    with transaction.atomic():
        erased = (
            FaceTemplate.objects.filter(trainee=trainee)
            .exclude(status=FaceTemplate.Status.ERASED)
            .update(status=FaceTemplate.Status.ERASED, descriptor="", decided_at=timezone.now())
        )
        audit_log(
            action="face.template_erase",
            actor=trainee.user,
            request=request,
            target=trainee,
            detail={"templates": erased},
        )
    return erased


def non_face_check_record(
    *,
    trainee: TraineeProfile,
    institution: Institution,
    purpose: str,
    witnessed_by: User,
    reason: str,
    document_checked: str,
    request: HttpRequest | None = None,
) -> NonFaceCheck:
    """Record an identity check without face recognition (the SMS code was verified by the caller)."""
    with transaction.atomic():
        check = NonFaceCheck.objects.create(
            trainee=trainee,
            institution=institution,
            purpose=purpose,
            witnessed_by=witnessed_by,
            reason=reason,
            document_checked=document_checked,
            valid_until=timezone.now() + timedelta(hours=settings.FACE_NON_FACE_VALID_HOURS),
        )
        audit_log(
            action="face.non_face_check",
            actor=witnessed_by,
            request=request,
            target=check,
            institution_id=institution.pk,
            detail={"purpose": purpose},
        )
    return check
