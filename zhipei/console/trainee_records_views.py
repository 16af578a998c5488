"""Institution console: a trainee's learning record (the timeline), their 一人一档 dossier, and
the import of trainees from Excel. Only the user's own institution's records; a trainee who is
not its member is a 404."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache

from zhipei.accounts.models import TraineeProfile, User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import trainees_visible_to
from zhipei.archive import imports, selectors, services
from zhipei.audit.services import audit_log
from zhipei.console.access import own_institution
from zhipei.core.crypto import field_cipher
from zhipei.core.exports import attachment
from zhipei.core.forms import Form
from zhipei.institutions.models import Institution


def _trainee(request: HttpRequest, pk: int) -> TraineeProfile:
    user: User = request.user  # type: ignore[assignment]
    return get_object_or_404(trainees_visible_to(user), pk=pk)


# --- the timeline --------------------------------------------------------------------------------


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def trainee_records(request: HttpRequest, pk: int) -> HttpResponse:
    """Study sessions and exam attempts at this institution, newest first, a page at a time;
    under each its segments, uncredited time, face checks (evidence through the audited view)
    and pop-up answers."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    profile = _trainee(request, pk)
    page, entries = selectors.timeline_page(profile, institution, request.GET.get("page"))
    audit_log(
        action="trainee.records_view",
        request=request,
        target=profile,
        institution_id=institution.pk,
        detail={"page": page.number},
    )
    return render(
        request,
        "console/trainee_records.html",
        {
            "profile": profile,
            "page_obj": page,
            "entries": entries,
            "query_string": "",
            "classes": selectors.trainee_classes(profile, institution),
            "can_export": user.has_perm(Perm.TRAINEE_DOSSIER),
        },
    )


# --- 一人一档 ------------------------------------------------------------------------------------


@never_cache
@require_perm(Perm.CONSOLE, Perm.TRAINEE_DOSSIER)
def trainee_dossier(request: HttpRequest, pk: int) -> HttpResponseBase:
    """GET: what the dossier holds, and a button. POST: the zip, built on a temporary file and
    streamed from it; every export is in the audit log with the digest of its manifest."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    profile = _trainee(request, pk)
    if request.method != "POST":
        return render(
            request,
            "console/archive/dossier_confirm.html",
            {"profile": profile, "csv_files": services.CSV_FILES},
        )
    dossier = services.trainee_dossier_zip(
        trainee=profile, institution=institution, by=user, request=request
    )
    response = FileResponse(
        dossier.file, as_attachment=True, filename=dossier.filename, content_type="application/zip"
    )
    response["X-Dossier-Manifest-SHA256"] = dossier.manifest_sha256
    return response


# --- import from Excel ---------------------------------------------------------------------------

_SESSION_KEY = "console.trainee_import"


class TraineeSheetForm(Form):
    sheet = forms.FileField(
        label=gettext_lazy("Excel 文件（.xlsx）"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheet"].help_text = _("按模板填写，每行一名学员，最多 %(rows)s 行") % {
            "rows": imports.MAX_ROWS
        }

    def clean_sheet(self) -> Any:
        sheet = self.cleaned_data["sheet"]
        if sheet.size > imports.MAX_BYTES:
            raise forms.ValidationError(
                _("文件不能超过 %(mb)s MB") % {"mb": imports.MAX_BYTES // 1024 // 1024}
            )
        return sheet


class OnlyGoodRowsForm(Form):
    only_good = forms.BooleanField(
        label=gettext_lazy("只导入无误的行"),
        error_messages={"required": gettext_lazy("请勾选“只导入无误的行”以确认：有误的行不会导入")},
    )
    expected = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)


def _context(user: User, institution: Institution) -> str:
    # The stored sheet opens only for the same user and institution that uploaded it.
    return f"console.trainee_import:{user.pk}:{institution.pk}"


def _keep(request: HttpRequest, data: bytes, user: User, institution: Institution) -> str:
    """Keep the uploaded file for the confirmation step, encrypted (it holds ID numbers)."""
    digest = hashlib.sha256(data).hexdigest()
    request.session[_SESSION_KEY] = {
        "sheet": field_cipher()
        .encrypt_bytes(data, context=_context(user, institution))
        .decode("ascii"),
        "digest": digest,
    }
    return digest


def _kept(request: HttpRequest, user: User, institution: Institution) -> tuple[bytes, str] | None:
    stored = request.session.get(_SESSION_KEY)
    if not stored:
        return None
    try:
        data = field_cipher().decrypt_bytes(
            stored["sheet"].encode("ascii"), context=_context(user, institution)
        )
    except Exception:  # another user's or a stale key's token: start again
        return None
    return data, stored["digest"]


def _import(
    request: HttpRequest,
    institution: Institution,
    check: imports.SheetCheck,
    *,
    only_good: bool,
) -> HttpResponse | None:
    user: User = request.user  # type: ignore[assignment]
    try:
        result = services.trainees_import(
            institution=institution,
            rows=check.good,
            by=user,
            request=request,
            skipped_rows=len(check.errors),
            already_members=len(check.already_members),
            only_good_rows=only_good,
        )
    except services.ImportConflict as exc:
        messages.error(request, exc.message)
        return None
    request.session.pop(_SESSION_KEY, None)
    text = ngettext("已导入 %(n)s 名新学员", "已导入 %(n)s 名新学员", result.created) % {
        "n": result.created
    }
    if result.linked:
        text += ngettext(
            "，%(n)s 名平台已有学员加入本机构", "，%(n)s 名平台已有学员加入本机构", result.linked
        ) % {"n": result.linked}
    if check.already_members:
        members = len(check.already_members)
        text += ngettext(
            "，%(n)s 名已是本机构学员（未改动）", "，%(n)s 名已是本机构学员（未改动）", members
        ) % {"n": members}
    if only_good and check.errors:
        bad = len(check.errors)
        text += ngettext("；%(n)s 行有误，未导入", "；%(n)s 行有误，未导入", bad) % {"n": bad}
    messages.success(request, text)
    return redirect("console:trainees")


@never_cache
@require_perm(Perm.CONSOLE, Perm.CLASS_MANAGE)
def trainees_import(request: HttpRequest) -> HttpResponse:
    """Upload → every row checked. A clean sheet is imported at once; otherwise nothing is, every
    bad row is listed, and the admin may confirm importing only the good rows (the file is kept
    encrypted in the session meanwhile and checked again on confirmation)."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    upload = TraineeSheetForm(
        request.POST if request.method == "POST" and "confirm" not in request.POST else None,
        request.FILES or None,
    )
    confirm: OnlyGoodRowsForm | None = None
    check: imports.SheetCheck | None = None
    if request.method == "POST" and "confirm" in request.POST:
        kept = _kept(request, user, institution)
        if kept is None:
            messages.error(request, _("上传的表格已过期，请重新上传"))
            return redirect("console:trainees_import")
        data, digest = kept
        try:
            check = imports.trainees_check(institution, data)
        except imports.SheetError as exc:  # the file was read once already; be safe anyway
            messages.error(request, str(exc))
            return redirect("console:trainees_import")
        fresh = OnlyGoodRowsForm(initial={"expected": len(check.good), "digest": digest})
        posted = OnlyGoodRowsForm(request.POST)
        confirm = fresh
        if not posted.is_valid():
            confirm = posted  # not ticked: say so
        elif posted.cleaned_data["digest"] != digest or posted.cleaned_data["expected"] != len(
            check.good
        ):
            messages.warning(
                request, _("表格的校验结果已变化（可能有学员刚刚注册），请核对后重新确认")
            )
        elif check.good:
            done = _import(request, institution, check, only_good=True)
            if done is not None:
                return done
    elif request.method == "POST" and upload.is_valid():
        request.session.pop(_SESSION_KEY, None)  # a new file replaces any kept one
        data = upload.cleaned_data["sheet"].read()
        try:
            check = imports.trainees_check(institution, data)
        except imports.SheetError as exc:
            upload.add_error("sheet", str(exc))
        else:
            if not check.errors:  # nothing is imported until every row is right
                done = _import(request, institution, check, only_good=False)
                if done is not None:
                    return done
            elif check.good:  # kept only when there is something to confirm
                digest = _keep(request, data, user, institution)
                confirm = OnlyGoodRowsForm(initial={"expected": len(check.good), "digest": digest})
    return render(
        request,
        "console/trainees_import.html",
        {
            "form": upload,
            "confirm": confirm if check is not None and check.good else None,
            "check": check,
            "max_rows": imports.MAX_ROWS,
        },
    )


@require_perm(Perm.CONSOLE, Perm.CLASS_MANAGE)
def trainees_template(request: HttpRequest) -> HttpResponse:
    return attachment(imports.template(), _("学员导入模板.xlsx"))
