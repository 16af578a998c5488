"""Institution console: courses, chapters, lesson videos and pop-up questions; classes and
their trainees (by hand or from an Excel sheet)."""

from __future__ import annotations

import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import trainees_visible_to
from zhipei.console.access import own_institution
from zhipei.console.forms import (
    ChapterForm,
    ClassMembersForm,
    ClassSheetForm,
    CourseForm,
    LessonUploadForm,
    QuestionForm,
    TrainingClassForm,
)
from zhipei.core.exports import attachment, write_xlsx
from zhipei.core.forms import Form
from zhipei.core.pagination import paginate, sort_order
from zhipei.courses import services
from zhipei.courses.models import Course, TrainingClass
from zhipei.courses.selectors import courses_visible_to
from zhipei.institutions.scoping import scoped
from zhipei.study.selectors import class_xueshi

# Columns the class table may be sorted by (?sort=key, -key descending) -> model fields.
CLASS_SORTS = {"name": "name", "start": "start_date", "required": "required_xueshi"}


def _post(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


def _errors(form: Form) -> str:
    return _("；").join(str(e) for errors in form.errors.values() for e in errors)


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def course_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = CourseForm(_post(request))
    if request.method == "POST" and form.is_valid():
        course = services.course_create(
            by=user, institution=own_institution(user), **form.cleaned_data
        )
        messages.success(request, _("已创建课程：%(title)s") % {"title": course.title})
        return redirect("console:course_detail", pk=course.pk)
    return render(request, "console/course_form.html", {"form": form})


@require_POST
@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def chapter_new(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    course = get_object_or_404(courses_visible_to(user), pk=pk)
    form = ChapterForm(request.POST)
    if form.is_valid():
        services.chapter_create(course=course, title=form.cleaned_data["title"], by=user)
        messages.success(request, _("已添加章节"))
    else:
        messages.error(request, _errors(form))
    return redirect("console:course_detail", pk=course.pk)


@require_POST
@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def lesson_new(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    course = get_object_or_404(courses_visible_to(user), pk=pk)
    form = LessonUploadForm(request.POST, request.FILES, course=course)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["document"]:
                lesson = services.lesson_create_with_document(
                    chapter=data["chapter"],
                    title=data["title"],
                    document=data["document"],
                    reading_minutes=data["reading_minutes"],
                    by=user,
                )
            else:
                lesson = services.lesson_create_with_video(
                    chapter=data["chapter"], title=data["title"], video=data["video"], by=user
                )
        except ValueError as exc:
            if data["document"]:
                messages.error(request, _("PDF 文档：%(error)s") % {"error": exc})
            else:
                messages.error(request, _("视频文件：%(error)s") % {"error": exc})
        else:
            messages.success(
                request,
                ngettext(
                    "已上传课时“%(title)s”，时长 %(seconds)s 秒",
                    "已上传课时“%(title)s”，时长 %(seconds)s 秒",
                    lesson.duration_seconds,
                )
                % {"title": lesson.title, "seconds": lesson.duration_seconds},
            )
    else:
        messages.error(request, _errors(form))
    return redirect("console:course_detail", pk=course.pk)


@require_POST
@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def question_new(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    course = get_object_or_404(courses_visible_to(user), pk=pk)
    form = QuestionForm(request.POST, course=course)
    if form.is_valid():
        data = form.cleaned_data
        services.question_create(
            lesson=data["lesson"],
            text=data["text"],
            options=data["options"],
            answer=data["answer"] - 1,
            by=user,
        )
        messages.success(request, _("已添加随堂问题"))
    else:
        messages.error(request, _errors(form))
    return redirect("console:course_detail", pk=course.pk)


def catalogue_forms(course: Course) -> dict[str, object]:
    """The blank forms the course page shows (used by console.views.course_detail)."""
    return {
        "chapter_form": ChapterForm(),
        "lesson_form": LessonUploadForm(course=course),
        "question_form": QuestionForm(course=course),
    }


# --- classes ---------------------------------------------------------------------------------------


def _classes(user: User):
    return scoped(TrainingClass.objects.all(), user)


@require_perm(Perm.CONSOLE)
def classes(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ordering, sort = sort_order(request, CLASS_SORTS, "-start")
    page, query_string = paginate(request, _classes(user).order_by(*ordering))
    return render(
        request,
        "console/classes.html",
        {"page_obj": page, "query_string": query_string, "sort": sort},
    )


@require_perm(Perm.CONSOLE, Perm.CLASS_MANAGE)
def class_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    form = TrainingClassForm(_post(request), institution=institution)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        courses = list(data.pop("courses"))
        training_class = services.training_class_create(
            by=user, courses=courses, institution=institution, **data
        )
        messages.success(request, _("已创建培训班：%(name)s") % {"name": training_class.name})
        return redirect("console:class_detail", pk=training_class.pk)
    return render(request, "console/class_form.html", {"form": form})


@require_perm(Perm.CONSOLE)
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    training_class = get_object_or_404(_classes(user), pk=pk)
    members = list(training_class.members.select_related("trainee__user").order_by("enrolled_at"))
    done = class_xueshi(training_class)
    for member in members:
        member.xueshi = done.get(member.trainee_id, 0.0)
    candidates = trainees_visible_to(user).exclude(class_memberships__training_class=training_class)
    context = {
        "training_class": training_class,
        "members": members,
        "can_manage": user.has_perm(Perm.CLASS_MANAGE),
        "add_form": ClassMembersForm(queryset=candidates),
        "sheet_form": ClassSheetForm(),
        "row_errors": None,
    }
    if request.method == "POST" and user.has_perm(Perm.CLASS_MANAGE):
        if "sheet" in request.FILES:
            sheet_form = ClassSheetForm(request.POST, request.FILES)
            context["sheet_form"] = sheet_form
            if sheet_form.is_valid():
                try:
                    found, errors = services.class_members_from_sheet(
                        training_class=training_class, data=sheet_form.cleaned_data["sheet"].read()
                    )
                except ValueError as exc:
                    sheet_form.add_error("sheet", str(exc))
                else:
                    if errors:
                        context["row_errors"] = (
                            errors  # nothing is enrolled until the sheet is clean
                        )
                    else:
                        added = services.class_members_add(
                            training_class=training_class, trainees=found, by=user, source="excel"
                        )
                        messages.success(
                            request,
                            ngettext(
                                "已从名单加入 %(n)s 名学员", "已从名单加入 %(n)s 名学员", added
                            )
                            % {"n": added},
                        )
                        return redirect("console:class_detail", pk=training_class.pk)
        else:
            add_form = ClassMembersForm(request.POST, queryset=candidates)
            context["add_form"] = add_form
            if add_form.is_valid():
                added = services.class_members_add(
                    training_class=training_class,
                    trainees=list(add_form.cleaned_data["trainees"]),
                    by=user,
                )
                messages.success(
                    request,
                    ngettext("已加入 %(n)s 名学员", "已加入 %(n)s 名学员", added) % {"n": added},
                )
                return redirect("console:class_detail", pk=training_class.pk)
    elif request.method == "POST":
        return HttpResponse(status=403)
    return render(request, "console/class_detail.html", context)


@require_perm(Perm.CONSOLE, Perm.CLASS_MANAGE)
def class_sheet_template(request: HttpRequest) -> HttpResponse:
    out = io.BytesIO()
    # The header is the one class_members_from_sheet matches, whatever the interface language.
    write_xlsx(out, ["姓名", "身份证号"], [], title=_("学员名单"))  # i18n: data
    return attachment(out.getvalue(), "class-members-template.xlsx")
