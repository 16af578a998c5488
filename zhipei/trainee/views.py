"""The trainee site (phone-first): sign-up, SMS login, profile and consents."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhipei.accounts import services
from zhipei.accounts.forms import TraineeLoginForm, TraineeRegisterForm
from zhipei.accounts.models import ConsentDocument, SmsCode, User
from zhipei.accounts.permissions import Perm, home_url_name, require_perm
from zhipei.accounts.selectors import consent_current, consent_given


def trainee_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A logged-in trainee who has accepted the current personal-information consent."""

    @require_perm(Perm.STUDY, login="trainee:login")
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not consent_given(request.user, ConsentDocument.Kind.PERSONAL_INFO):  # type: ignore[arg-type]
            messages.warning(request, _("个人信息处理同意书已更新，请阅读并同意后继续使用"))
            return redirect("trainee:consents")
        return view(request, *args, **kwargs)

    return wrapped


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "trainee/landing.html")
    if not request.user.is_trainee:
        return redirect(home_url_name(request.user.role))
    return _dashboard(request)


@trainee_page
def _dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    profile = user.trainee_profile
    context = {
        "profile": profile,
        "memberships": profile.memberships.select_related("institution").order_by("joined_at"),
        "biometric_consent": consent_given(user, ConsentDocument.Kind.BIOMETRIC),
    }
    return render(request, "trainee/home.html", context)


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url_name(request.user.role))
    form = TraineeLoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.trainee_sms_login(
                phone=form.cleaned_data["phone"], code=form.cleaned_data["code"], request=request
            )
        except services.AccountError as exc:
            form.add_error("code" if exc.code == "BAD_CODE" else None, exc.message)
        else:
            login(request, user, backend="zhipei.accounts.backends.ZhipeiBackend")
            return redirect("trainee:home")
    return render(request, "trainee/login.html", {"form": form, "purpose": SmsCode.Purpose.LOGIN})


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_url_name(request.user.role))
    consent = consent_current(ConsentDocument.Kind.PERSONAL_INFO)
    if consent is None:
        raise Http404(_("尚未发布个人信息处理同意书"))
    form = TraineeRegisterForm(
        request.POST if request.method == "POST" else None,
        initial={"institution": request.GET.get("institution")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not services.sms_code_verify(
            phone=data["phone"], purpose=SmsCode.Purpose.REGISTER, code=data["code"]
        ):
            form.add_error("code", _("验证码错误或已过期"))
        else:
            try:
                user = services.trainee_register(
                    institution=data["institution"],
                    name=data["name"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    consent=consent,
                    request=request,
                )
            except services.AccountError as exc:
                form.add_error(None, exc.message)
            else:
                login(request, user, backend="zhipei.accounts.backends.ZhipeiBackend")
                messages.success(request, _("注册成功，欢迎使用职培"))
                return redirect("trainee:home")
    return render(
        request,
        "trainee/register.html",
        {"form": form, "consent": consent, "purpose": SmsCode.Purpose.REGISTER},
    )


@trainee_page
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(request, "trainee/profile.html", {"profile": user.trainee_profile})


@require_perm(Perm.STUDY, login="trainee:login")
def consents(request: HttpRequest) -> HttpResponse:
    """Read, accept or withdraw each consent; personal-info consent is needed to go further."""
    user: User = request.user  # type: ignore[assignment]
    documents = [
        d for d in (consent_current(k) for k in ConsentDocument.Kind.values) if d is not None
    ]
    rows = [{"document": d, "given": consent_given(user, d.kind)} for d in documents]
    history = user.consents.select_related("document")[:20]
    return render(request, "trainee/consents.html", {"rows": rows, "history": history})


@require_POST
@require_perm(Perm.STUDY, login="trainee:login")
def consent_decide(request: HttpRequest, kind: str, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    document = consent_current(kind) if kind in ConsentDocument.Kind.values else None
    if document is None or action not in ("accept", "withdraw"):
        raise Http404
    if action == "accept":
        services.consent_accept(user=user, document=document, request=request)
        messages.success(request, _("已同意《%(title)s》") % {"title": document.title})
    else:
        services.consent_withdraw(user=user, document=document, request=request)
        messages.info(request, _("已撤回对《%(title)s》的同意") % {"title": document.title})
    return redirect("trainee:consents")
