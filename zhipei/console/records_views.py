"""学习记录导出 in the console: the form and the user's recent jobs, starting an export (small
ones stream at once, large ones become a background job), the job's progress page and its JSON
status, and the download, which only the person who asked for it may use, until it expires."""

from __future__ import annotations

import logging

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.console.access import own_institution
from zhipei.core.exports import CONTENT_TYPES, table_response
from zhipei.lib.crypto import DecryptionError
from zhipei.records.exporters import EXPORTERS
from zhipei.records.forms import ExportForm
from zhipei.records.models import ExportJob
from zhipei.records.selectors import export_job_for, export_jobs_of, export_scope
from zhipei.records.services import export_download_record, export_file_chunks, export_start

RECENT_JOBS = 20
log = logging.getLogger(__name__)


def _page(request: HttpRequest, form: ExportForm, *, status: int = 200) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "console/records/exports.html",
        {
            "form": form,
            "exporters": EXPORTERS.values(),
            "jobs": export_jobs_of(user)[:RECENT_JOBS],
            "now": timezone.now(),
        },
        status=status,
    )


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def exports(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return _page(request, ExportForm(institution_id=own_institution(user).pk))


@require_POST
@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def export_start_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    form = ExportForm(request.POST, institution_id=institution.pk)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    scope = export_scope(
        institution_id=institution.pk,
        class_id=data["training_class"],
        course_id=data["course"],
        date_from=data["date_from"],
        date_to=data["date_to"],
    )
    exporter = EXPORTERS[data["exporter"]](scope)
    fmt = data["format"]
    started = export_start(user=user, exporter=exporter, fmt=fmt, request=request)
    if started.job is not None:
        return redirect("console:export_job", pk=started.job.pk)
    name = exporter.filename(fmt)
    return table_response(
        fmt, name, exporter.header, exporter.rows(), title=str(exporter.verbose_name)
    )


def _status(job: ExportJob) -> dict[str, object]:
    done = job.status == ExportJob.Status.DONE
    live = done and not job.expired()
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "error": job.error,
        "expired": done and not live,
        "download_url": reverse("console:export_download", args=[job.pk]) if live else None,
        "expires_at": timezone.localtime(job.expires_at).strftime("%Y-%m-%d %H:%M")
        if live and job.expires_at
        else None,
    }


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    job = export_job_for(user, pk)
    exporter = EXPORTERS.get(job.exporter)
    return render(
        request,
        "console/records/export_job.html",
        {
            "job": job,
            "state": _status(job),
            "exporter_name": exporter.verbose_name if exporter else job.exporter,
        },
    )


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def export_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    response = JsonResponse(_status(export_job_for(user, pk)))
    response["Cache-Control"] = "no-store"
    return response


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    job = export_job_for(user, pk)
    if job.status != ExportJob.Status.DONE:
        return render(request, "console/records/export_not_ready.html", {"job": job}, status=409)
    if job.expired():
        export_download_record(job=job, request=request, refused="expired")
        return render(request, "console/records/export_expired.html", {"job": job}, status=410)
    try:
        chunks = export_file_chunks(job)
    except OSError:  # removed from storage behind our back: as good as expired
        export_download_record(job=job, request=request, refused="missing")
        return render(request, "console/records/export_expired.html", {"job": job}, status=410)
    except DecryptionError:  # changed, or not this job's file: never served
        log.error("export job %s: the stored file does not decrypt as this job's", job.pk)
        export_download_record(job=job, request=request, refused="damaged")
        return render(request, "console/records/export_expired.html", {"job": job}, status=410)
    exporter = EXPORTERS.get(job.exporter)
    day = timezone.localdate(job.created_at)
    name = exporter.filename(job.format, day) if exporter else f"export-{job.pk}.{job.format}"
    try:
        export_download_record(job=job, request=request)
    except BaseException:
        chunks.close()
        raise
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[job.format])
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response
