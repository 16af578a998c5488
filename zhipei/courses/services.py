"""Catalogue writes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import transaction

from zhipei.audit.services import audit_log
from zhipei.courses.models import Chapter, Course, Lesson
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
    video.seek(0)
    with transaction.atomic():
        lesson = Lesson(
            chapter=chapter,
            title=title,
            duration_seconds=round(duration),
            position=chapter.lessons.count() + 1,
        )
        lesson.video.save(Path(video.name or "lesson.mp4").name, video, save=False)
        lesson.save()
        audit_log(
            action="lesson.create",
            actor=by,
            target=lesson,
            institution_id=chapter.course.institution_id,
            detail={"duration": lesson.duration_seconds},
        )
    return lesson
