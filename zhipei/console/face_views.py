"""Institution console: trainees' faces — the photo on file, attempts with evidence, reviews
of re-enrolments and duplicate faces, and the witnessed non-face identity check."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from zhipei.accounts import services as account_services
from zhipei.accounts.models import SmsCode, User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import trainees_visible_to
from zhipei.audit.services import audit_log
from zhipei.console.access import own_institution
from zhipei.console.forms import FacePhotoForm, NonFaceCheckForm
from zhipei.core.http import client_ip
from zhipei.faces import services
from zhipei.faces.models import FaceTemplate
from zhipei.faces.selectors import (
    alerts_visible_to,
    attempts_visible_to,
    pending_templates_visible_to,
)
from zhipei.institutions.scoping import visible_institutions


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def trainee_face(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the trainee's templates and recent attempts. POST (admin): enrol the photo on file."""
    user: User = request.user  # type: ignore[assignment]
    profile = get_object_or_404(trainees_visible_to(user), pk=pk)
    form = FacePhotoForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST":
        if not user.has_perm(Perm.FACE_MANAGE):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                template = services.face_enrol(
                    trainee=profile,
                    institution=own_institution(user),
                    frames=[form.cleaned_data["photo"].read()],
                    source=FaceTemplate.Source.ADMIN_UPLOAD,
                    by=user,
                    request=request,
                )
            except services.FaceError as exc:
                form.add_error("photo", exc.message)
            else:
                messages.success(
                    request, _("已采集人脸：%(status)s") % {"status": template.get_status_display()}
                )
                return redirect("console:trainee_face", pk=profile.pk)
    audit_log(action="face.records_view", request=request, target=profile)
    return render(
        request,
        "console/trainee_face.html",
        {
            "profile": profile,
            "form": form,
            "can_manage": user.has_perm(Perm.FACE_MANAGE),
            "templates": profile.face_templates.filter(
                institution__in=visible_institutions(user)
            ).order_by("-created_at")[:10],
            "attempts": attempts_visible_to(user).filter(trainee=profile)[:50],
            "non_face_checks": profile.non_face_checks.filter(
                institution__in=visible_institutions(user)
            ).select_related("witnessed_by")[:10],
        },
    )


@never_cache
@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def face_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """One evidence frame, decrypted for this response only; every view is audited."""
    user: User = request.user  # type: ignore[assignment]
    attempt = get_object_or_404(attempts_visible_to(user), pk=pk)
    if not attempt.evidence:
        raise Http404
    audit_log(action="face.evidence_view", request=request, target=attempt)
    return HttpResponse(services.evidence_image(attempt), content_type="image/jpeg")


@require_perm(Perm.CONSOLE, Perm.FACE_MANAGE)
def face_reviews(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "console/face_reviews.html",
        {
            "pending": pending_templates_visible_to(user)[:100],
            "alerts": alerts_visible_to(user).filter(resolved_at__isnull=True)[:100],
        },
    )


@require_POST
@require_perm(Perm.CONSOLE, Perm.FACE_MANAGE)
def face_template_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    template = get_object_or_404(pending_templates_visible_to(user), pk=pk)
    if action not in ("approve", "reject"):
        raise Http404
    try:
        services.face_template_decide(
            template=template,
            approve=action == "approve",
            by=user,
            request=request,
            note=request.POST.get("note", ""),
        )
    except services.FaceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("已批准，新的人脸模板生效") if action == "approve" else _("已驳回")
        )
    return redirect("console:face_reviews")


@require_perm(Perm.CONSOLE, Perm.FACE_MANAGE)
def non_face_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The trainee is in front of the staff member: an SMS code to their phone plus the staff
    member's check of the ID card, recorded as a non-face verification."""
    user: User = request.user  # type: ignore[assignment]
    profile = get_object_or_404(trainees_visible_to(user), pk=pk)
    phone = profile.user.phone
    if request.method == "POST" and request.POST.get("send"):
        try:
            account_services.sms_code_send(
                phone=phone, purpose=SmsCode.Purpose.LOGIN, ip=client_ip(request)
            )
        except account_services.SmsRateLimited as exc:
            messages.warning(request, exc.message)
        else:
            messages.info(
                request,
                _("验证码已发送至学员手机 %(phone)s") % {"phone": profile.user.phone_masked},
            )
        return redirect("console:trainee_non_face", pk=profile.pk)
    form = NonFaceCheckForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not account_services.sms_code_verify(
            phone=phone, purpose=SmsCode.Purpose.LOGIN, code=data["code"]
        ):
            form.add_error("code", _("验证码错误或已过期"))
        else:
            services.non_face_check_record(
                trainee=profile,
                institution=own_institution(user),
                purpose=data["purpose"],
                witnessed_by=user,
                reason=data["reason"],
                document_checked=data["document_checked"],
                request=request,
            )
            messages.success(request, _("已记录非人脸身份核验"))
            return redirect("console:trainee_face", pk=profile.pk)
    return render(request, "console/non_face_check.html", {"profile": profile, "form": form})
