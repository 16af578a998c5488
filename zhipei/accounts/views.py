"""Login, logout, SMS codes, TOTP and password pages shared by every face of the UI."""

from __future__ import annotations

import base64
import io
import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from zhipei.accounts import services
from zhipei.accounts.forms import PasswordChangeForm, SmsSendForm, StaffLoginForm, TotpForm
from zhipei.accounts.models import INSTITUTION_ROLES, PLATFORM_ROLES, Role, SmsCode, User
from zhipei.accounts.permissions import home_url_name, login_url_name
from zhipei.audit.services import audit_log
from zhipei.core.http import api_error, client_ip

# The staff faces and which roles may log in through each.
FACES = {
    "console": (gettext_lazy("机构管理端登录"), INSTITUTION_ROLES),
    "portal": (gettext_lazy("监管端登录"), frozenset({Role.REGULATOR})),
    "ops": (gettext_lazy("平台管理端登录"), PLATFORM_ROLES),
}
PENDING_SECONDS = 300


@require_POST
def sms_send(request: HttpRequest) -> JsonResponse:
    form = SmsSendForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        code = "INVALID_PHONE" if field == "phone" else "INVALID_PURPOSE"
        return api_error(code, str(errors[0]))
    try:
        services.sms_code_send(
            phone=form.cleaned_data["phone"],
            purpose=form.cleaned_data["purpose"],
            ip=client_ip(request),
        )
    except services.SmsRateLimited as exc:
        response = api_error(exc.code, exc.message, status=429, retry_after=exc.retry_after)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return JsonResponse(
        {
            "ok": True,
            "message": _("验证码已发送，5分钟内有效"),
            "retry_after": settings.SMS_RESEND_SECONDS,
        }
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    target = "trainee:login"
    if request.user.is_authenticated:
        target = login_url_name(request.user.role)
        audit_log(action="logout", request=request)
        logout(request)
    messages.success(request, _("已安全退出"))
    return redirect(target)


def staff_login(request: HttpRequest, face: str) -> HttpResponse:
    title, roles = FACES[face]
    if request.user.is_authenticated and request.user.role in roles:
        return redirect(home_url_name(request.user.role))
    form = StaffLoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_check_password(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except services.AccountError as exc:
            form.add_error(None, exc.message)
        else:
            if user.role not in roles:
                form.add_error(
                    None,
                    _("该账号不能从此入口登录，请使用%(role)s对应的登录入口")
                    % {"role": user.get_role_display()},
                )
            else:
                request.session.cycle_key()
                request.session["pending_user"] = user.pk
                request.session["pending_at"] = time.time()
                request.session["pending_next"] = request.GET.get("next", "")
                request.session["pending_face"] = face
                return redirect("accounts:totp")
    return render(
        request, "accounts/staff_login.html", {"form": form, "title": title, "face": face}
    )


def _pending_user(request: HttpRequest) -> User | None:
    pk, at = request.session.get("pending_user"), request.session.get("pending_at", 0)
    if pk is None or time.time() - at > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


def _finish_login(request: HttpRequest, user: User) -> str:
    nxt = request.session.get("pending_next", "")
    for key in ("pending_user", "pending_at", "pending_next", "pending_face", "enrol_code_sent"):
        request.session.pop(key, None)
    login(request, user, backend="zhipei.accounts.backends.ZhipeiBackend")
    request.session["last_seen"] = time.time()
    from django.utils.http import url_has_allowed_host_and_scheme

    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return nxt
    return reverse(home_url_name(user.role))


def totp(request: HttpRequest) -> HttpResponse:
    """The second step of a staff login: enter a TOTP code, or enrol the device first."""
    user = _pending_user(request)
    if user is None:
        messages.warning(request, _("登录已超时，请重新输入用户名和密码"))
        return redirect(f"{request.session.get('pending_face', 'console')}:login")
    enrolling = not user.totp_enabled
    need_sms = enrolling and bool(user.phone)
    data = request.POST if request.method == "POST" else None
    form = TotpForm(data, need_sms=need_sms)
    if request.method == "POST" and request.POST.get("resend"):
        form = TotpForm(None, need_sms=need_sms)
        _send_enrol_code(request, user)
    elif request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if enrolling:
                if need_sms and not services.sms_code_verify(
                    phone=user.phone,
                    purpose=SmsCode.Purpose.STAFF_ENROL,
                    code=form.cleaned_data["sms_code"],
                ):
                    raise services.AccountError(_("短信验证码错误或已过期"), code="BAD_CODE")
                codes = services.totp_setup_confirm(user=user, code=code, request=request)
                target = _finish_login(request, user)
                return render(
                    request, "accounts/recovery_codes.html", {"codes": codes, "next": target}
                )
            services.staff_second_factor(user=user, code=code, request=request)
        except services.AccountError as exc:
            form.add_error("sms_code" if exc.code == "BAD_CODE" else "code", exc.message)
        else:
            return redirect(_finish_login(request, user))
    elif need_sms and not request.session.get("enrol_code_sent"):
        _send_enrol_code(request, user)
    context: dict[str, object] = {"form": form, "enrolling": enrolling, "person": user}
    if enrolling:
        uri = services.totp_setup_begin(user=user)
        context["qr_data_uri"] = _qr_data_uri(uri)
        context["secret"] = user.totp_secret
        context["phone_masked"] = user.phone_masked
    return render(request, "accounts/totp.html", context)


def _send_enrol_code(request: HttpRequest, user: User) -> None:
    """Send the first-login code to the account's own phone (rate limits apply as everywhere)."""
    try:
        services.sms_code_send(
            phone=user.phone, purpose=SmsCode.Purpose.STAFF_ENROL, ip=client_ip(request)
        )
    except services.SmsRateLimited as exc:
        messages.warning(request, exc.message)
    else:
        request.session["enrol_code_sent"] = True
        messages.info(request, _("验证码已发送至 %(phone)s") % {"phone": user.phone_masked})


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    image.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def password_change(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated or not request.user.is_staff_role:
        return redirect("console:login")
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.password_change(
            user=request.user, new_password=form.cleaned_data["new_password1"], request=request
        )
        from django.contrib.auth import update_session_auth_hash

        update_session_auth_hash(request, request.user)
        messages.success(request, _("密码已修改"))
        return redirect(home_url_name(request.user.role))
    return render(request, "accounts/password_change.html", {"form": form})
