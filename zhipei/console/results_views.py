"""Exam results in the console: per exam and per class, on screen and exported (csv, xlsx).
Every export is in the audit log."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.audit.services import audit_log
from zhipei.console.access import own_institution
from zhipei.core.exports import table_response
from zhipei.core.pagination import paginate, sort_order
from zhipei.courses.models import TrainingClass
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.selectors import (
    CLASS_HEADER,
    RESULT_HEADER,
    class_summary,
    exam_attempts,
    result_row,
)

FILTERS: dict[str, dict[str, object]] = {
    "passed": {"status": Attempt.Status.SUBMITTED, "passed": True},
    "failed": {"status": Attempt.Status.SUBMITTED, "passed": False},
    "open": {"status": Attempt.Status.IN_PROGRESS},
}
EXPORT_FORMATS = ("csv", "xlsx")
# Columns the results table may be sorted by (?sort=key, -key descending) -> model fields.
RESULT_SORTS = {
    "name": "trainee__user__name",
    "started": "started_at",
    "score": "score",
    "leaves": "page_leaves",
    "face_failures": "face_failures",
}


def _exam(request: HttpRequest, pk: int) -> Exam:
    user: User = request.user  # type: ignore[assignment]
    return get_object_or_404(
        Exam.objects.filter(institution=own_institution(user)).defer("pool"), pk=pk
    )


def _filtered(request: HttpRequest, exam: Exam) -> tuple[QuerySet[Attempt], str]:
    attempts = exam_attempts(exam.institution_id).filter(exam=exam)
    shown = request.GET.get("show", "")
    # An unknown filter value shows everything rather than failing: it is a view, not input.
    chosen: dict[str, object] = FILTERS.get(shown, {})
    return attempts.filter(**chosen), shown if shown in FILTERS else ""


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def exam_results(request: HttpRequest, pk: int) -> HttpResponse:
    exam = _exam(request, pk)
    attempts, shown = _filtered(request, exam)
    ordering, sort = sort_order(request, RESULT_SORTS, "name")
    page, query_string = paginate(request, attempts.order_by(*ordering), per_page=50)
    rows = [(attempt, result_row(attempt)) for attempt in page.object_list]
    return render(
        request,
        "console/exam_results.html",
        {
            "exam": exam,
            "page_obj": page,
            "rows": rows,
            "header": RESULT_HEADER,
            "query_string": query_string,
            "shown": shown,
            "sort": sort,
        },
    )


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def exam_results_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in EXPORT_FORMATS:
        raise Http404
    exam = _exam(request, pk)
    attempts, shown = _filtered(request, exam)
    audit_log(
        action="exam.results_export",
        request=request,
        target=exam,
        institution_id=exam.institution_id,
        detail={"format": fmt, "filter": shown},
    )
    rows = (result_row(a) for a in attempts.iterator(chunk_size=500))
    name = _("考试成绩-%(exam)s-%(date)s.%(format)s") % {
        "exam": exam.pk,
        "date": f"{timezone.localdate():%Y%m%d}",
        "format": fmt,
    }
    return table_response(fmt, name, RESULT_HEADER, rows, title=_("考试成绩"))


def _class(request: HttpRequest, pk: int) -> TrainingClass:
    user: User = request.user  # type: ignore[assignment]
    return get_object_or_404(TrainingClass.objects.filter(institution=own_institution(user)), pk=pk)


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def class_results(request: HttpRequest, pk: int) -> HttpResponse:
    training_class = _class(request, pk)
    return render(
        request,
        "console/class_results.html",
        {
            "training_class": training_class,
            "header": CLASS_HEADER,
            "rows": class_summary(training_class),
            "exams": training_class.exams.order_by("opens_at"),
        },
    )


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW, login="console:login")
def class_results_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in EXPORT_FORMATS:
        raise Http404
    training_class = _class(request, pk)
    audit_log(
        action="class.results_export",
        request=request,
        target=training_class,
        institution_id=training_class.institution_id,
        detail={"format": fmt},
    )
    rows = class_summary(training_class)
    name = _("培训班学时与成绩-%(class)s-%(date)s.%(format)s") % {
        "class": training_class.pk,
        "date": f"{timezone.localdate():%Y%m%d}",
        "format": fmt,
    }
    return table_response(fmt, name, CLASS_HEADER, rows, title=_("学时与成绩"))
