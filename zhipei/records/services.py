"""Export writes: starting an export (inline or as a background job), running a job into a
private file, recording downloads, purging expired files. Every export and every download is
in the audit log, with what was exported (exporter, format, rows, filters) and no personal data."""

from __future__ import annotations

import io
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zhipei.accounts.models import User
from zhipei.audit.models import AuditEntry
from zhipei.audit.services import audit_log
from zhipei.core.crypto import field_cipher
from zhipei.core.exports import write_xlsx
from zhipei.lib.crypto import STREAM_CHUNK, is_encrypted_stream
from zhipei.records.exporters import Exporter, ExportError, Progress, write_csv
from zhipei.records.models import ExportJob
from zhipei.records.selectors import exporter_for_job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportStart:
    """How an export goes on: ``job`` is None when it is small enough to stream at once."""

    rows: int
    job: ExportJob | None


def export_start(
    *,
    user: User,
    exporter: Exporter,
    fmt: str,
    request: HttpRequest | None = None,
) -> ExportStart:
    """Count the rows; at most ``EXPORT_INLINE_MAX_ROWS`` stream in the response, more become a
    background job (its task queued when the transaction commits). Audited either way."""
    if fmt not in ExportJob.Format.values:
        raise ExportError("BAD_FORMAT", _("不支持的导出格式"))
    rows = exporter.count()
    inline = rows <= settings.EXPORT_INLINE_MAX_ROWS
    detail: dict[str, Any] = {
        "exporter": exporter.identifier,
        "format": fmt,
        "rows": rows,
        "filters": exporter.scope.params(),
        "mode": "inline" if inline else "job",
    }
    institution_id = exporter.scope.institution_id
    if inline:
        audit_log(
            action="records.export",
            request=request,
            actor=user,
            institution_id=institution_id,
            detail=detail,
        )
        return ExportStart(rows=rows, job=None)
    with transaction.atomic():
        job = ExportJob.objects.create(
            institution_id=institution_id,
            requested_by=user,
            exporter=exporter.identifier,
            params=exporter.scope.params(),
            format=fmt,
            rows_total=rows,
        )
        audit_log(
            action="records.export",
            request=request,
            actor=user,
            target=job,
            institution_id=institution_id,
            detail={**detail, "job": job.pk},
        )
        from zhipei.records.tasks import run_export

        transaction.on_commit(lambda: run_export.delay(job.pk))
    return ExportStart(rows=rows, job=job)


class _Spooled(File):
    """A finished temporary file: local storage moves it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def export_context(job_id: int) -> str:
    """What an export file's encryption is bound to: a file copied onto another job fails."""
    return f"records.ExportJob.file:{job_id}"


class ExportDownload:
    """The chunks of a job's file as the requester downloads it; ``close()`` closes the stored
    file whether or not the download ever started (the response calls it)."""

    def __init__(self, stored: Any, first: bytes, rest: Iterator[bytes]) -> None:
        self._stored, self._first, self._rest = stored, first, rest

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield self._first
            yield from self._rest
        finally:
            self.close()

    def close(self) -> None:
        self._stored.close()


def export_file_chunks(job: ExportJob) -> ExportDownload:
    """The job's file, decrypted chunk by chunk. Every file written since exports were encrypted
    is named ``….enc`` and must decrypt as this job's; an older plain file (without that suffix,
    at most a link's lifetime old) is passed through as it is. Raises OSError if the file is
    gone, and DecryptionError if it does not decrypt as this job's: the first chunk is opened
    here, before any response starts (a later bad chunk cuts the download short)."""
    stored = default_storage.open(job.file, "rb")
    try:
        encrypted = job.file.endswith(".enc") or is_encrypted_stream(stored.read(8))
        stored.seek(0)
        rest = (
            field_cipher().decrypt_stream(stored, context=export_context(job.pk))
            if encrypted
            else iter(lambda: stored.read(STREAM_CHUNK), b"")
        )
        first = next(rest, b"")
    except BaseException:
        stored.close()
        raise
    return ExportDownload(stored, first, rest)


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Run a queued job: write its rows to a temporary file (reporting progress every
    PROGRESS_EVERY rows, one UPDATE each), store it under exports/ and open the download link
    for ``EXPORT_LINK_HOURS``. A failure is recorded on the job, never half a file."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=timezone.now(), rows_done=0
    )
    if not claimed:
        return None  # run already, or gone (a second delivery of the task)
    job = ExportJob.objects.get(pk=job_id)
    path = ""
    try:
        exporter = exporter_for_job(job)
        # Personal data at rest: the rows are encrypted as they are written (field keys, bound
        # to this job), so no plaintext copy ever reaches a disk; decrypted only on the way to
        # the requester.
        fd, path = tempfile.mkstemp(prefix="zhipei-export-", suffix=f".{job.format}.enc")
        progress = Progress(exporter.rows(), report=lambda n: _report(job_id, n))
        inert = exporter.rows_are_inert
        with os.fdopen(fd, "wb") as sealed:
            sink = field_cipher().sealing_writer(sealed, context=export_context(job.pk))
            with io.BufferedWriter(sink, buffer_size=STREAM_CHUNK) as binary:
                if job.format == ExportJob.Format.CSV:
                    with io.TextIOWrapper(binary, encoding="utf-8", newline="") as out:
                        write_csv(out, exporter.header, progress, inert=inert)
                else:
                    title = str(exporter.verbose_name)
                    write_xlsx(binary, exporter.header, progress, title=title, inert=inert)
        name = f"exports/{job.institution_id}/{job.pk}-{secrets.token_hex(8)}.{job.format}.enc"
        with open(path, "rb") as stored:
            saved = default_storage.save(name, _Spooled(stored, name=path))
    except Exception as exc:
        log.exception("export job %s failed", job_id)
        message = exc.message if isinstance(exc, ExportError) else _("生成文件时出错，请稍后重试")
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), error=message[:200]
        )
        job.refresh_from_db()
        return job
    finally:
        if path and os.path.exists(path):
            os.unlink(path)
    now = timezone.now()
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE,
        rows_done=progress.done,
        rows_total=progress.done,
        file=saved,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.EXPORT_LINK_HOURS),
    )
    job.refresh_from_db()
    return job


def _report(job_id: int, rows_done: int) -> None:
    ExportJob.objects.filter(pk=job_id).update(rows_done=rows_done)


def export_download_record(*, job: ExportJob, request: HttpRequest, refused: str = "") -> None:
    """Audit a download, or a refused one (``refused``: why, e.g. "expired")."""
    audit_log(
        action="records.export_download",
        request=request,
        target=job,
        institution_id=job.institution_id,
        result=AuditEntry.Result.DENIED if refused else AuditEntry.Result.SUCCESS,
        detail={
            "exporter": job.exporter,
            "format": job.format,
            "rows": job.rows_done,
            "filters": job.params,
            **({"refused": refused} if refused else {}),
        },
    )


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete the files of expired jobs (the job rows stay, as the record of what was
    exported), and fail jobs that never finished within a link's lifetime (a lost worker).
    Returns the number of files deleted."""
    now = now or timezone.now()
    deleted = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(file=""):
        try:
            default_storage.delete(job.file)
        except OSError:
            log.exception("could not delete export file of job %s", job.pk)
            continue
        ExportJob.objects.filter(pk=job.pk).update(file="")
        deleted += 1
    stale = now - timedelta(hours=settings.EXPORT_LINK_HOURS)
    ExportJob.objects.filter(
        status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING], created_at__lt=stale
    ).update(status=ExportJob.Status.FAILED, finished_at=now, error=_("任务未能完成，请重新导出"))
    return deleted
