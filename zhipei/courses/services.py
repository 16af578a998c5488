"""Catalogue writes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext as _

from zhipei.accounts.models import TraineeProfile
from zhipei.audit.services import audit_log
from zhipei.courses.models import (
    Chapter,
    ClassMember,
    Course,
    Lesson,
    LessonQuestion,
    TrainingClass,
)
from zhipei.lib.video import probe_duration

if TYPE_CHECKING:
    from zhipei.accounts.models import User


def course_create(*, by: User | None, **fields: Any) -> Course:
    with transaction.atomic():
        course = Course.objects.create(**fields)
        audit_log(
            action="course.create", actor=by, target=course, institution_id=course.institution_id
        )
    return course


def lesson_create_with_video(
    *, chapter: Chapter, title: str, video: File[Any], by: User | None
) -> Lesson:
    """Store the video and its duration, read from the file; an unreadable video is refused
    (ValueError with a Chinese message) before anything is saved."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.mp4"
        video.seek(0)
        with probe.open("wb") as out:
            for chunk in video.chunks():
                out.write(chunk)
        duration = probe_duration(probe)
    return _lesson_add(
        chapter=chapter,
        title=title,
        kind=Lesson.Kind.VIDEO,
        duration_seconds=round(duration),
        upload=video,
        by=by,
    )


MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def lesson_create_with_document(
    *, chapter: Chapter, title: str, document: File[Any], reading_minutes: int, by: User | None
) -> Lesson:
    """A PDF lesson: studied for the reading time the institution sets (1–600 minutes), under the
    same supervision and ledger as a video (the player's clock runs only while reading)."""
    if not 1 <= reading_minutes <= 600:
        raise ValueError(_("阅读时长应为 1–600 分钟"))
    if (document.size or 0) > MAX_DOCUMENT_BYTES:
        raise ValueError(_("PDF 文件不能超过 50 MB"))
    document.seek(0)
    if document.read(5) != b"%PDF-":
        raise ValueError(_("不是 PDF 文件"))
    return _lesson_add(
        chapter=chapter,
        title=title,
        kind=Lesson.Kind.DOCUMENT,
        duration_seconds=reading_minutes * 60,
        upload=document,
        by=by,
    )


def _lesson_add(
    *,
    chapter: Chapter,
    title: str,
    kind: str,
    duration_seconds: int,
    upload: File[Any],
    by: User | None,
) -> Lesson:
    """Store the checked file in the lesson's field for its kind, and the lesson, audited."""
    upload.seek(0)
    with transaction.atomic():
        lesson = Lesson(
            chapter=chapter,
            title=title,
            kind=kind,
            duration_seconds=duration_seconds,
            position=chapter.lessons.count() + 1,
        )
        default = "lesson.pdf" if kind == Lesson.Kind.DOCUMENT else "lesson.mp4"
        lesson.media.save(Path(upload.name or default).name, upload, save=False)
        lesson.save()
        audit_log(
            action="lesson.create",
            actor=by,
            target=lesson,
            institution_id=chapter.course.institution_id,
            detail={"kind": kind, "duration": lesson.duration_seconds},
        )
    return lesson


def chapter_create(*, course: Course, title: str, by: User | None) -> Chapter:
    with transaction.atomic():
        chapter = Chapter.objects.create(
            course=course, title=title, position=course.chapters.count() + 1
        )
        audit_log(
            action="chapter.create", actor=by, target=chapter, institution_id=course.institution_id
        )
    return chapter


def question_create(
    *, lesson: Lesson, text: str, options: list[str], answer: int, by: User | None
) -> LessonQuestion:
    if len(options) < 2 or not 0 <= answer < len(options):
        raise ValueError(_("至少两个选项，且正确选项必须是其中之一"))
    with transaction.atomic():
        question = LessonQuestion.objects.create(
            lesson=lesson, text=text, options=options, answer=answer
        )
        audit_log(
            action="question.create",
            actor=by,
            target=question,
            institution_id=lesson.chapter.course.institution_id,
        )
    return question


def training_class_create(*, by: User, courses: list[Course], **fields: Any) -> TrainingClass:
    with transaction.atomic():
        training_class = TrainingClass.objects.create(**fields)
        training_class.courses.set(courses)
        audit_log(
            action="class.create",
            actor=by,
            target=training_class,
            institution_id=training_class.institution_id,
        )
    return training_class


def class_members_add(
    *,
    training_class: TrainingClass,
    trainees: list[TraineeProfile],
    by: User,
    source: str = "admin",
) -> int:
    """Enrol trainees (already members of the class's institution); returns how many were new."""
    with transaction.atomic():
        existing = set(training_class.members.values_list("trainee_id", flat=True))
        new = [t for t in trainees if t.pk not in existing]
        ClassMember.objects.bulk_create(
            ClassMember(training_class=training_class, trainee=t) for t in new
        )
        audit_log(
            action="class.enrol",
            actor=by,
            target=training_class,
            institution_id=training_class.institution_id,
            detail={"added": len(new), "source": source},
        )
    return len(new)


@dataclass
class RowError:
    row: int
    message: str


def class_members_from_sheet(
    *, training_class: TrainingClass, data: bytes
) -> tuple[list[TraineeProfile], list[RowError]]:
    """Read an .xlsx whose first sheet has a header row with 身份证号 (and optionally 姓名).

    Every row must name a trainee of the class's institution; the caller enrols nothing unless
    the error list is empty.
    """
    from zhipei.accounts.models import id_number_index
    from zhipei.core.sheets import cell_text, sheet_rows
    from zhipei.lib.idnumber import InvalidIdNumber, parse_id_number

    found: list[TraineeProfile] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    rows = sheet_rows(
        data,
        title="",
        columns=["姓名", "身份证号"],  # i18n: data (matched against the sheet's header)
        required=["身份证号"],  # i18n: data
        max_rows=5000,
    )
    wanted: list[tuple[int, str, str]] = []  # row, blind index of the ID number, name given
    for n, cells in rows:
        raw = cell_text(cells["身份证号"])  # i18n: data (column key)
        try:
            number = parse_id_number(raw).number
        except InvalidIdNumber as exc:
            errors.append(RowError(n, _("身份证号：%(error)s") % {"error": exc}))
            continue
        if number in seen:
            errors.append(RowError(n, _("身份证号与前面的行重复")))
            continue
        seen.add(number)
        wanted.append((n, id_number_index(number), cell_text(cells.get("姓名"))))  # i18n: data
    # The institution's trainees the sheet names, in one query (not one per row).
    members = {
        profile.id_number_index: profile
        for profile in TraineeProfile.objects.filter(
            memberships__institution=training_class.institution_id,
            id_number_index__in=[index for _n, index, _name in wanted],
        ).select_related("user")
    }
    for n, index, name in wanted:
        profile = members.get(index)
        if profile is None:
            errors.append(RowError(n, _("本机构没有该身份证号的学员，请先导入学员")))
            continue
        if name and name != profile.user.name:
            errors.append(RowError(n, _("姓名与身份证号不符")))
            continue
        found.append(profile)
    errors.sort(key=lambda error: error.row)
    if not found and not errors:
        errors.append(RowError(2, _("表格中没有数据行")))
    return found, errors
