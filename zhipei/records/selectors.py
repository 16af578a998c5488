"""Export reads: the scope of an export within one institution, a user's own jobs."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from zhipei.accounts.models import User
from zhipei.courses.models import Course, TrainingClass
from zhipei.records.exporters import EXPORTERS, Exporter, ExportError, ExportScope
from zhipei.records.models import ExportJob


def export_scope(
    *,
    institution_id: int,
    class_id: int | None,
    course_id: int | None,
    date_from: date | None,
    date_to: date | None,
) -> ExportScope:
    """The scope, with the class and course fetched from the institution's own: another
    institution's (or a missing) class or course is a 404."""
    training_class = (
        get_object_or_404(TrainingClass.objects.filter(institution_id=institution_id), pk=class_id)
        if class_id is not None
        else None
    )
    course = (
        get_object_or_404(Course.objects.filter(institution_id=institution_id), pk=course_id)
        if course_id is not None
        else None
    )
    return ExportScope(
        institution_id=institution_id,
        training_class=training_class,
        course=course,
        date_from=date_from,
        date_to=date_to,
    )


def exporter_for_job(job: ExportJob) -> Exporter:
    """The job's exporter over its stored scope, fetched again within the job's institution."""
    cls = EXPORTERS.get(job.exporter)
    if cls is None:
        raise ExportError("BAD_EXPORTER", _("未知的导出内容"))
    params: dict[str, Any] = job.params or {}
    try:
        scope = export_scope(
            institution_id=job.institution_id,
            class_id=params.get("class"),
            course_id=params.get("course"),
            date_from=date.fromisoformat(params["from"]) if params.get("from") else None,
            date_to=date.fromisoformat(params["to"]) if params.get("to") else None,
        )
    except Exception as exc:  # a class deleted since, or params not ours
        raise ExportError("BAD_SCOPE", _("导出范围已不存在，请重新导出")) from exc
    return cls(scope)


def export_jobs_of(user: User) -> QuerySet[ExportJob]:
    """The user's own jobs, newest first: a job is only ever shown to whoever asked for it."""
    if user.institution_id is None:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by=user, institution_id=user.institution_id)


def export_job_for(user: User, pk: int) -> ExportJob:
    """One of the user's own jobs; anyone else's, even a colleague's, is a 404."""
    return get_object_or_404(export_jobs_of(user), pk=pk)
