"""Face APIs the trainee's camera pages call (JSON), and the pages themselves."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from zhipei.accounts.models import ConsentDocument, TraineeProfile, User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import consent_given
from zhipei.core.http import api_error, api_refusal
from zhipei.faces import services
from zhipei.faces.models import FaceAttempt, FaceTemplate, Purpose
from zhipei.faces.selectors import trainee_home_institution
from zhipei.institutions.models import Institution
from zhipei.lib import face as fe
from zhipei.trainee.views import trainee_page

TRAINEE_PURPOSES = {p for p in Purpose.values if p != Purpose.ENROL}


def read_frames(request: HttpRequest) -> list[bytes] | JsonResponse:
    files = request.FILES.getlist("frames")
    if len(files) > settings.FACE_BURST_MAX_FRAMES:
        # Refused before anything is read into memory.
        return api_error(
            "BAD_BURST",
            ngettext(
                "最多 %(maximum)s 帧图像", "最多 %(maximum)s 帧图像", settings.FACE_BURST_MAX_FRAMES
            )
            % {"maximum": settings.FACE_BURST_MAX_FRAMES},
            status=400,
        )
    for n, upload in enumerate(files, start=1):
        if upload.size is None or upload.size > fe.MAX_IMAGE_BYTES:
            return api_error(
                "IMAGE_TOO_LARGE",
                _("第 %(n)s 帧超过 %(max_mb)s MB")
                % {"n": n, "max_mb": fe.MAX_IMAGE_BYTES // 1024 // 1024},
                status=413,
            )
    return [upload.read() for upload in files]


def _trainee_burst(
    request: HttpRequest,
) -> tuple[TraineeProfile, Institution, list[bytes]] | JsonResponse:
    """The frames of a trainee's own face action, and the institution it belongs to."""
    frames = read_frames(request)
    if isinstance(frames, JsonResponse):
        return frames
    profile = request.user.trainee_profile  # type: ignore[union-attr]
    institution = trainee_home_institution(profile)
    if institution is None:
        return api_error("NO_INSTITUTION", _("尚未加入任何培训机构"), status=409)
    return profile, institution, frames


@require_POST
@require_perm(Perm.STUDY)
def api_challenge(request: HttpRequest) -> JsonResponse:
    purpose = request.POST.get("purpose", "")
    if purpose not in Purpose.values:
        return api_error("BAD_PURPOSE", _("核验用途无效"))
    challenge = services.face_challenge_issue(request.session, purpose)
    instruction = (
        str(services.CHALLENGE_TEXT[fe.Challenge(challenge)])
        if challenge
        else _("请正对摄像头，保持光线充足")
    )
    return JsonResponse({"ok": True, "challenge": challenge, "instruction": instruction})


@require_POST
@require_perm(Perm.STUDY)
def api_enrol(request: HttpRequest) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    burst = _trainee_burst(request)
    if isinstance(burst, JsonResponse):
        return burst
    profile, institution, frames = burst
    try:
        template = services.face_enrol(
            trainee=profile,
            institution=institution,
            frames=frames,
            source=FaceTemplate.Source.CAMERA,
            by=user,
            challenge=services.face_challenge_take(request.session, Purpose.ENROL),
            request=request,
        )
    except services.FaceError as exc:
        return api_refusal(exc)
    messages: dict[str, str] = {
        FaceTemplate.Status.ACTIVE: _("人脸采集成功"),
        FaceTemplate.Status.PENDING_APPROVAL: _("已提交重新采集，待培训机构审批后生效"),
        FaceTemplate.Status.PENDING_DUPLICATE: _("采集已提交，需培训机构核实后生效"),
    }
    return JsonResponse(
        {"ok": True, "status": template.status, "message": messages[template.status]}
    )


@require_POST
@require_perm(Perm.STUDY)
def api_verify(request: HttpRequest) -> JsonResponse:
    purpose = request.POST.get("purpose", Purpose.LOGIN)
    if purpose not in TRAINEE_PURPOSES:
        return api_error("BAD_PURPOSE", _("核验用途无效"))
    burst = _trainee_burst(request)
    if isinstance(burst, JsonResponse):
        return burst
    profile, institution, frames = burst
    try:
        attempt = services.face_verify(
            trainee=profile,
            institution=institution,
            frames=frames,
            purpose=purpose,
            challenge=services.face_challenge_take(request.session, purpose),
            request=request,
        )
    except services.FaceError as exc:
        return api_refusal(exc)
    return JsonResponse(_attempt_json(attempt))


def face_outcome(attempt: FaceAttempt) -> dict[str, object]:
    """What every camera page is told of a check (enrolment, verification, study, exams)."""
    return {"ok": attempt.passed, "decision": attempt.decision, "message": attempt.message}


def _attempt_json(attempt: FaceAttempt) -> dict[str, object]:
    return {
        **face_outcome(attempt),
        "distance": round(attempt.distance, 4) if attempt.distance is not None else None,
        "attempt": attempt.pk,
    }


# --- trainee pages ------------------------------------------------------------------------------


@trainee_page
def face_home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    profile = user.trainee_profile
    templates = FaceTemplate.objects.filter(trainee=profile).exclude(
        status__in=[
            FaceTemplate.Status.REJECTED,
            FaceTemplate.Status.REPLACED,
            FaceTemplate.Status.ERASED,
        ]
    )
    return render(
        request,
        "trainee/face_home.html",
        {
            "consented": consent_given(user, ConsentDocument.Kind.BIOMETRIC),
            "active": templates.filter(status=FaceTemplate.Status.ACTIVE).first(),
            "pending": templates.exclude(status=FaceTemplate.Status.ACTIVE).first(),
            "attempts": FaceAttempt.objects.filter(trainee=profile)[:10],
        },
    )


@trainee_page
def face_enrol(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not consent_given(user, ConsentDocument.Kind.BIOMETRIC):
        return redirect("trainee:consents")
    return render(request, "trainee/face_camera.html", {"mode": "enrol", "purpose": Purpose.ENROL})


@trainee_page
def face_verify(request: HttpRequest) -> HttpResponse:
    purpose = request.GET.get("purpose", Purpose.LOGIN)
    if purpose not in TRAINEE_PURPOSES:
        purpose = Purpose.LOGIN
    return render(request, "trainee/face_camera.html", {"mode": "verify", "purpose": purpose})
