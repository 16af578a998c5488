"""The platform's own staff: operator (runs institutions and accounts), security officer
(unlocks accounts, resets second factors) and auditor (reads the audit log, changes nothing)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from zhipei.accounts import services as account_services
from zhipei.accounts.models import Role, User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import locked_accounts
from zhipei.audit.models import AuditEntry
from zhipei.audit.selectors import audit_chain_verify
from zhipei.audit.services import audit_log
from zhipei.core.pagination import paginate
from zhipei.faces.selectors import enrolled_face_count
from zhipei.institutions.models import Institution
from zhipei.institutions.services import institution_create
from zhipei.ops.forms import AuditFilterForm, InstitutionForm, StaffAccountForm


@require_perm(Perm.OPS)
def home(request: HttpRequest) -> HttpResponse:
    faces = enrolled_face_count()
    context = {
        "institution_count": Institution.objects.count(),
        "staff_count": User.objects.exclude(role=Role.TRAINEE).filter(is_active=True).count(),
        "trainee_count": User.objects.filter(role=Role.TRAINEE).count(),
        "face_count": faces,
        "face_limit": settings.FACE_FILING_LIMIT,
        "face_warning": faces >= settings.FACE_FILING_WARN_AT,
    }
    return render(request, "ops/home.html", context)


@require_perm(Perm.OPS, Perm.INSTITUTION_MANAGE)
def institutions(request: HttpRequest) -> HttpResponse:
    page, query_string = paginate(
        request, Institution.objects.select_related("region").order_by("name")
    )
    return render(
        request, "ops/institutions.html", {"page_obj": page, "query_string": query_string}
    )


@require_perm(Perm.OPS, Perm.INSTITUTION_MANAGE)
def institution_new(request: HttpRequest) -> HttpResponse:
    form = InstitutionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        inst = institution_create(by=request.user, request=request, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, _("已创建机构：%(name)s") % {"name": inst.name})
        return redirect("ops:institution_detail", pk=inst.pk)
    return render(request, "ops/institution_form.html", {"form": form})


@require_perm(Perm.OPS, Perm.INSTITUTION_MANAGE)
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    inst = get_object_or_404(Institution.objects.select_related("region"), pk=pk)
    staff = User.objects.filter(institution=inst).order_by("role", "username")
    return render(request, "ops/institution_detail.html", {"institution": inst, "staff": staff})


@require_perm(Perm.OPS, Perm.INSTITUTION_MANAGE)
def account_new(request: HttpRequest) -> HttpResponse:
    form = StaffAccountForm(
        request.POST if request.method == "POST" else None,
        initial={"institution": request.GET.get("institution")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = account_services.staff_create(
            username=data["username"],
            name=data["name"],
            role=data["role"],
            by=request.user,  # type: ignore[arg-type]
            request=request,
            institution=data["institution"],
            region_id=data["region"].pk if data["region"] else None,
            regulator_office=data["regulator_office"],
            phone=data["phone"] or "",
        )
        # Shown once: the person must change it at first login and enrol a TOTP device.
        return render(request, "ops/account_created.html", {"account": account})
    return render(request, "ops/account_form.html", {"form": form})


@require_perm(Perm.OPS, Perm.SECURITY_MANAGE)
def security(request: HttpRequest) -> HttpResponse:
    staff = (
        User.objects.exclude(role=Role.TRAINEE)
        .select_related("institution")
        .order_by("role", "username")
    )
    page, query_string = paginate(request, staff, per_page=50)
    return render(
        request,
        "ops/security.html",
        {
            "locked": locked_accounts()[:100],
            "page_obj": page,
            "query_string": query_string,
        },
    )


@require_POST
@require_perm(Perm.OPS, Perm.SECURITY_MANAGE)
def account_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    account_services.account_unlock(target=target, by=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, _("已解锁账号 %(username)s") % {"username": target.username})
    return redirect("ops:security")


@require_POST
@require_perm(Perm.OPS, Perm.SECURITY_MANAGE)
def account_totp_reset(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User.objects.exclude(role=Role.TRAINEE), pk=pk)
    account_services.account_totp_reset(target=target, by=request.user, request=request)  # type: ignore[arg-type]
    messages.success(
        request,
        _("已重置 %(username)s 的动态口令，下次登录时重新绑定") % {"username": target.username},
    )
    return redirect("ops:security")


@require_perm(Perm.OPS, Perm.AUDIT_VIEW)
def audit(request: HttpRequest) -> HttpResponse:
    # Logged first, so the page the auditor sees already includes this very view.
    filters = sorted(k for k, v in request.GET.items() if v)
    audit_log(action="audit.view", request=request, detail={"filters": filters})
    form = AuditFilterForm(request.GET or None)
    qs = AuditEntry.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            qs = qs.filter(action__startswith=data["action"])
        if data["actor"]:
            qs = qs.filter(actor_label=data["actor"])
        if data["result"]:
            qs = qs.filter(result=data["result"])
        tz = timezone.get_current_timezone()
        if data["since"]:
            qs = qs.filter(at__gte=datetime.combine(data["since"], time.min, tzinfo=tz))
        if data["until"]:
            qs = qs.filter(
                at__lt=datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=tz)
            )
    page, query_string = paginate(request, qs.order_by("-id"), per_page=50)
    return render(
        request, "ops/audit.html", {"form": form, "page_obj": page, "query_string": query_string}
    )


@require_POST
@require_perm(Perm.OPS, Perm.AUDIT_VIEW)
def audit_verify(request: HttpRequest) -> HttpResponse:
    report = audit_chain_verify()
    audit_log(
        action="audit.verify",
        request=request,
        result=AuditEntry.Result.SUCCESS if report.ok else AuditEntry.Result.FAILURE,
        detail={"checked": report.checked, "first_bad_id": report.first_bad_id},
    )
    if report.ok:
        messages.success(
            request,
            ngettext(
                "审计日志哈希链完整：已校验 %(count)s 条记录",
                "审计日志哈希链完整：已校验 %(count)s 条记录",
                report.checked,
            )
            % {"count": report.checked},
        )
    else:
        messages.error(
            request,
            _("审计日志哈希链在第 %(id)s 号记录处断裂，可能被篡改") % {"id": report.first_bad_id},
        )
    return redirect("ops:audit")
