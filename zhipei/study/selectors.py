"""Study reads: what a trainee may study, their progress and records."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet, Sum

from zhipei.accounts.models import TraineeProfile
from zhipei.courses.models import Course, Lesson, TrainingClass
from zhipei.study.models import LessonProgress, StudySession


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
    """Valid 学时 per trainee over the class's courses (one grouped query)."""
    rows = (
        LessonProgress.objects.filter(
            lesson__chapter__course__classes=training_class,
            trainee__class_memberships__training_class=training_class,
        )
        .values("trainee_id")
        .annotate(seconds=Sum("credited_seconds"))
    )
    return {row["trainee_id"]: xueshi(row["seconds"] or 0.0) for row in rows}
