"""Study reads: what a trainee may study, their progress and records."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from zhipei.accounts.models import TraineeProfile
from zhipei.courses.models import Course, Lesson, TrainingClass
from zhipei.study.models import LessonProgress, StudySegment, StudySession


def lessons_for_trainee(profile: TraineeProfile) -> QuerySet[Lesson]:
    """Lessons of the courses of institutions the trainee is a member of."""
    return Lesson.objects.filter(
        chapter__course__institution__memberships__trainee=profile
    ).select_related("chapter__course__institution")


def courses_for_trainee(profile: TraineeProfile) -> QuerySet[Course]:
    return Course.objects.filter(institution__memberships__trainee=profile).prefetch_related(
        "chapters__lessons"
    )


def progress_by_lesson(profile: TraineeProfile) -> dict[int, LessonProgress]:
    return {p.lesson_id: p for p in LessonProgress.objects.filter(trainee=profile)}


def xueshi(seconds: float) -> float:
    """Valid seconds as 学时 (MINUTES_PER_XUESHI minutes each), 1:1 with classroom 学时."""
    return seconds / (settings.MINUTES_PER_XUESHI * 60)


def sessions_of(profile: TraineeProfile) -> QuerySet[StudySession]:
    return (
        StudySession.objects.filter(trainee=profile)
        .select_related("lesson")
        .prefetch_related("uncredited", "segments", "quiz_answers")
    )


def class_xueshi(training_class: TrainingClass) -> dict[int, float]:
    """Valid 学时 per trainee for a class: confirmed segments of the class's courses studied
    between its start and end dates (one grouped query). Time on a shared course before or after
    the class does not count for it."""
    start = datetime.combine(
        training_class.start_date, time.min, tzinfo=timezone.get_current_timezone()
    )
    end = datetime.combine(
        training_class.end_date + timedelta(days=1),
        time.min,
        tzinfo=timezone.get_current_timezone(),
    )
    rows = (
        StudySegment.objects.filter(
            session__lesson__chapter__course__classes=training_class,
            session__trainee__class_memberships__training_class=training_class,
            started_at__gte=start,
            started_at__lt=end,
        )
        .values("session__trainee_id")
        .annotate(seconds=Sum("seconds"))
    )
    return {row["session__trainee_id"]: xueshi(row["seconds"] or 0.0) for row in rows}
