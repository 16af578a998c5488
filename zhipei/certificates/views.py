"""Certificate pages: the public verification page (no login), the trainee's own certificates,
and the console's issue / list / download / revoke."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.certificates import selectors, services, signing
from zhipei.certificates.forms import IssueForm, RevokeForm, VerifyLookupForm
from zhipei.certificates.models import Certificate
from zhipei.certificates.pdf import verification_url
from zhipei.core.exports import attachment
from zhipei.core.http import client_ip
from zhipei.core.pagination import paginate
from zhipei.courses.models import ClassMember, TrainingClass
from zhipei.exams.selectors import class_exam_result
from zhipei.institutions.scoping import scoped
from zhipei.lib.crypto import digest
from zhipei.lib.masking import mask_name
from zhipei.study.selectors import class_xueshi
from zhipei.trainee.views import trainee_page


def _pdf_response(certificate: Certificate, data: bytes) -> HttpResponse:
    filename = f"{certificate.get_kind_display()}-{certificate.serial}.pdf"
    response = attachment(data, filename, "application/pdf")
    response["Cache-Control"] = "private, no-store"
    return response


# --- public verification ---------------------------------------------------------------------


def _miss_key(request: HttpRequest) -> str:
    return "cert-verify-miss:" + digest((client_ip(request) or "-").encode(), hash="sha256")


def verify_lookup(request: HttpRequest) -> HttpResponse:
    """Type in the serial printed under the QR code."""
    form = VerifyLookupForm(request.GET if "serial" in request.GET else None)
    if form.is_bound and form.is_valid():
        return redirect("verify:detail", serial=form.cleaned_data["serial"])
    response = render(request, "certificates/verify_lookup.html", {"form": form})
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
def verify_detail(request: HttpRequest, serial: str) -> HttpResponse:
    """Is this certificate real? Shows what it certifies, never whom beyond a masked name.

    Serials carry 60 random bits; misses are also counted per address, so the page cannot be
    used to walk the serial space."""
    normalized = services.normalize_serial(serial)
    if normalized and normalized != serial:
        url = reverse("verify:detail", args=[normalized])
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    key = _miss_key(request)
    if cache.get(key, 0) >= settings.CERT_VERIFY_MISSES_PER_HOUR:
        return render(request, "429.html", {"retry_after": 3600}, status=429)
    fragment = request.GET.get("s", "").strip()[:32]
    result = selectors.certificate_verification(normalized, fragment)
    status = 200
    if result.status == result.MISSING:
        cache.add(key, 0, timeout=3600)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=3600)
        status = 404
    content = result.certificate.content if result.certificate else {}
    context = {
        "result": result,
        "serial": normalized or serial[:40],
        "content": content,
        "holder": mask_name(content.get("holder_name", "")),
        "current_key": signing.current_key(),
        "algorithm": signing.ALGORITHM,
    }
    response = render(request, "certificates/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- the trainee's own -----------------------------------------------------------------------


@trainee_page
def my_certificates(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    certificates = selectors.certificates_of(user.trainee_profile)
    return render(request, "certificates/mine.html", {"certificates": certificates})


@never_cache
@trainee_page
def my_certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    certificate = get_object_or_404(
        selectors.certificates_of(user.trainee_profile), pk=pk, revoked_at__isnull=True
    )
    data = services.certificate_download(certificate=certificate, by=user, request=request)
    return _pdf_response(certificate, data)


# --- the institution console -----------------------------------------------------------------

CONSOLE_VIEW = (Perm.CONSOLE, Perm.TRAINEE_VIEW)
CONSOLE_ISSUE = (Perm.CONSOLE, Perm.CLASS_MANAGE)


def _classes(user: User) -> QuerySet[TrainingClass]:
    return scoped(TrainingClass.objects.all(), user)


@require_perm(*CONSOLE_VIEW)
def console_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    qs = selectors.certificates_visible_to(user)
    status = request.GET.get("status", "")
    if status == "live":
        qs = qs.filter(revoked_at__isnull=True)
    elif status == "revoked":
        qs = qs.filter(revoked_at__isnull=False)
    kind = request.GET.get("kind", "")
    if kind in Certificate.Kind.values:
        qs = qs.filter(kind=kind)
    page, query_string = paginate(request, qs)
    return render(
        request,
        "certificates/console_list.html",
        {
            "page_obj": page,
            "query_string": query_string,
            "status": status,
            "kind": kind,
            "kinds": Certificate.Kind.choices,
        },
    )


@require_perm(*CONSOLE_VIEW)
def console_for_class(request: HttpRequest, pk: int) -> HttpResponse:
    """Each member's hours, exam result, certificates, and what could be issued now."""
    user: User = request.user  # type: ignore[assignment]
    training_class = get_object_or_404(_classes(user), pk=pk)
    hours = class_xueshi(training_class)
    live = selectors.class_certificates(training_class)
    required = services.class_required_xueshi(training_class)
    rows = []
    members = (
        ClassMember.objects.filter(training_class=training_class)
        .select_related("trainee__user")
        .order_by("enrolled_at", "id")
    )
    for member in members:
        trainee = member.trainee
        xueshi = services.xueshi_printed(hours.get(trainee.pk, 0.0))
        exam = class_exam_result(trainee, training_class)
        kinds = []
        for value, label in Certificate.Kind.choices:
            certificate = live.get((trainee.pk, value))
            refusal = ""
            if certificate is None:
                try:
                    services.eligibility_decide(
                        kind=value, xueshi=xueshi, required=required, exam=exam
                    )
                except services.CertificateError as exc:
                    refusal = exc.message
            kinds.append(
                {"value": value, "label": label, "certificate": certificate, "refusal": refusal}
            )
        rows.append({"trainee": trainee, "xueshi": xueshi, "exam": exam, "kinds": kinds})
    return render(
        request,
        "certificates/console_class.html",
        {
            "training_class": training_class,
            "rows": rows,
            "required": required,
            "kinds": Certificate.Kind.choices,
            "can_issue": user.has_perm(Perm.CLASS_MANAGE),
        },
    )


@require_POST
@require_perm(*CONSOLE_ISSUE)
def console_issue(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    training_class = get_object_or_404(_classes(user), pk=pk)
    form = IssueForm(request.POST)
    member = None
    if form.is_valid() and form.cleaned_data["trainee"]:
        member = (
            ClassMember.objects.filter(
                training_class=training_class, trainee_id=form.cleaned_data["trainee"]
            )
            .select_related("trainee__user")
            .first()
        )
    if member is None:
        messages.error(request, _("请选择本培训班的学员和证书类型"))
        return redirect("certificates_console:for_class", pk=training_class.pk)
    try:
        certificate = services.certificate_issue(
            training_class=training_class,
            trainee=member.trainee,
            kind=form.cleaned_data["kind"],
            by=user,
            request=request,
        )
    except services.CertificateError as exc:
        messages.error(
            request,
            _("%(name)s：%(message)s") % {"name": member.trainee.user.name, "message": exc.message},
        )
    else:
        messages.success(
            request,
            _("已签发%(kind)s：%(serial)s")
            % {"kind": certificate.get_kind_display(), "serial": certificate.serial},
        )
    return redirect("certificates_console:for_class", pk=training_class.pk)


@require_POST
@require_perm(*CONSOLE_ISSUE)
def console_issue_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    training_class = get_object_or_404(_classes(user), pk=pk)
    form = IssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择证书类型"))
        return redirect("certificates_console:for_class", pk=training_class.pk)
    kind = Certificate.Kind(form.cleaned_data["kind"])
    result = services.certificate_issue_bulk(
        training_class=training_class, kind=kind, by=user, request=request
    )
    messages.success(
        request,
        _("%(kind)s：新签发 %(issued)s 份，此前已签发 %(existing)s 份，未签发 %(skipped)s 人")
        % {
            "kind": kind.label,
            "issued": len(result.issued),
            "existing": len(result.existing),
            "skipped": len(result.skipped),
        },
    )
    if result.skipped:
        messages.warning(
            request,
            _("未签发：%(list)s")
            % {
                # Translators: separator between the entries of a list of sentences.
                "list": _("；").join(
                    _("%(name)s（%(message)s）")
                    % {"name": s.trainee.user.name, "message": s.message}
                    for s in result.skipped
                )
            },
        )
    return redirect("certificates_console:for_class", pk=training_class.pk)


@require_perm(*CONSOLE_VIEW)
def console_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    certificate = get_object_or_404(selectors.certificates_visible_to(user), pk=pk)
    return render(
        request,
        "certificates/console_detail.html",
        {
            "certificate": certificate,
            "content": certificate.content,
            "result": selectors.certificate_verification(certificate.serial),
            "verify_url": verification_url(certificate),
            "can_revoke": user.has_perm(Perm.CLASS_MANAGE) and not certificate.revoked,
            "revoke_form": RevokeForm(),
        },
    )


@never_cache
@require_perm(*CONSOLE_VIEW)
def console_download(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    certificate = get_object_or_404(selectors.certificates_visible_to(user), pk=pk)
    if certificate.revoked:
        raise Http404
    data = services.certificate_download(certificate=certificate, by=user, request=request)
    return _pdf_response(certificate, data)


@require_POST
@require_perm(*CONSOLE_ISSUE)
def console_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    certificate = get_object_or_404(selectors.certificates_visible_to(user), pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤销原因（不超过 200 字）"))
        return redirect("certificates_console:detail", pk=certificate.pk)
    try:
        services.certificate_revoke(
            certificate=certificate, by=user, reason=form.cleaned_data["reason"], request=request
        )
    except services.CertificateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销证书 %(serial)s") % {"serial": certificate.serial})
    return redirect("certificates_console:detail", pk=certificate.pk)
