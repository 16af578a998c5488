"""Learning records made directly through the study, face and exam models: institution A's
class with two trainees (sessions, confirmed segments, uncredited intervals, face checks,
progress, exam attempts), a session of A's trainee outside the class's dates, and a session in
institution B that no export of A may show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from zhipei.accounts.models import TraineeProfile
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import Chapter, ClassMember, Course, Lesson, TrainingClass
from zhipei.exams.models import Attempt, Exam, Paper
from zhipei.faces.models import FaceAttempt
from zhipei.study.models import LessonProgress, StudySegment, StudySession, UncreditedInterval


@dataclass
class Records:
    training_class: TrainingClass
    course: Course
    lessons: list[Lesson]
    zhang: TraineeProfile  # personas.trainee: two sessions in the class, one before it
    wang: TraineeProfile  # a second member: one idle-ended session, one void exam attempt
    day1: datetime  # the class's first day, 09:00
    early: datetime  # ten days before the class starts, 09:00
    exam: Exam


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def session(
    trainee: TraineeProfile,
    lesson: Lesson,
    started: datetime,
    *,
    end_reason: str = StudySession.EndReason.LEFT,
    segments: list[tuple[int, float]] = (),  # type: ignore[assignment]
    gaps: list[tuple[int, float, str]] = (),  # type: ignore[assignment]
) -> StudySession:
    """A session with confirmed segments (offset in s, seconds) and uncredited intervals
    (offset, seconds, reason); ended unless ``end_reason`` is empty."""
    institution = lesson.chapter.course.institution
    s = StudySession.objects.create(
        trainee=trainee,
        lesson=lesson,
        institution=institution,
        device="test",
        status=StudySession.Status.ENDED if end_reason else StudySession.Status.ACTIVE,
        end_reason=end_reason,
        started_at=started,
        ended_at=started + timedelta(hours=1) if end_reason else None,
        last_beat_at=started + timedelta(minutes=50),
    )
    for offset, seconds in segments:
        begin = started + timedelta(seconds=offset)
        StudySegment.objects.create(
            session=s,
            started_at=begin,
            ended_at=begin + timedelta(seconds=seconds),
            from_position=offset,
            to_position=offset + seconds,
            seconds=seconds,
        )
    for offset, seconds, reason in gaps:
        begin = started + timedelta(seconds=offset)
        UncreditedInterval.objects.create(
            session=s,
            started_at=begin,
            ended_at=begin + timedelta(seconds=seconds),
            seconds=seconds,
            reason=reason,
        )
    return s


@pytest.fixture
def records(personas) -> Records:
    course = personas.course
    chapter = Chapter.objects.create(course=course, title="第一章 安全用电")
    lessons = [
        Lesson.objects.create(chapter=chapter, title="第一讲 触电急救", duration_seconds=900),
        Lesson.objects.create(chapter=chapter, title="第二讲 绝缘工具", duration_seconds=600),
    ]
    today = timezone.localdate()
    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="电工（五级）第一期",
        kind=course.kind,
        start_date=today - timedelta(days=5),
        end_date=today + timedelta(days=5),
        required_xueshi=Decimal("1"),
    )
    training_class.courses.add(course)
    zhang = personas.trainee.trainee_profile
    wang = make_trainee(personas.inst_a, name="王五").trainee_profile
    ClassMember.objects.create(training_class=training_class, trainee=zhang)
    ClassMember.objects.create(training_class=training_class, trainee=wang)
    day1 = at(training_class.start_date, 9)
    early = at(training_class.start_date - timedelta(days=10), 9)

    session(
        zhang,
        lessons[0],
        day1,
        segments=[(30, 600.0), (700, 240.0)],
        gaps=[(0, 30.0, "FACE_PENDING"), (630, 42.4, "HIDDEN"), (940, 13.37, "PAUSED")],
    )
    session(
        zhang,
        lessons[1],
        day1 + timedelta(days=1),
        end_reason="",
        segments=[(10, 120.0)],
        gaps=[(0, 10.0, "FACE_PENDING")],
    )
    session(
        wang,
        lessons[0],
        day1 + timedelta(hours=2),
        end_reason=StudySession.EndReason.IDLE,
        segments=[(0, 200.0)],
        gaps=[(200, 300.0, "IDLE"), (500, 5.0, "SOMETHING_NEW")],
    )
    # Before the class: counts for a date range, never for the class.
    session(zhang, lessons[0], early, segments=[(0, 90.0)], gaps=[(90, 20.0, "RATE")])
    # Institution B's trainee and course: nothing of it in A's exports.
    course_b = Course.objects.create(
        institution=personas.inst_b, title="创业基础", kind=Course.Kind.ENTREPRENEURSHIP
    )
    lesson_b = Lesson.objects.create(
        chapter=Chapter.objects.create(course=course_b, title="一"),
        title="B 讲",
        duration_seconds=60,
    )
    session(
        personas.trainee_b.trainee_profile,
        lesson_b,
        day1,
        segments=[(0, 60.0)],
        gaps=[(60, 9.0, "GAP")],
    )

    for minutes, decision, purpose in (
        (0, "MATCH", "study_start"),
        (20, "MATCH", "study_recheck"),
        (40, "MISMATCH", "study_recheck"),
    ):
        FaceAttempt.objects.create(
            trainee=zhang,
            institution=personas.inst_a,
            purpose=purpose,
            decision=decision,
            at=day1 + timedelta(minutes=minutes),
        )
    FaceAttempt.objects.create(  # a login check is not a study check
        trainee=zhang, institution=personas.inst_a, purpose="login", decision="MATCH", at=day1
    )
    LessonProgress.objects.create(
        trainee=zhang,
        lesson=lessons[0],
        credited_seconds=840,
        furthest_position=940,
        completed_at=day1 + timedelta(minutes=20),
    )

    paper = Paper.objects.create(institution=personas.inst_a, title="结业试卷", mode="fixed")
    exam = Exam.objects.create(
        institution=personas.inst_a,
        title="电工（五级）结业考试",
        paper=paper,
        scope=Exam.Scope.CLASS,
        training_class=training_class,
        opens_at=day1,
        closes_at=day1 + timedelta(days=9),
        duration_minutes=60,
    )
    for trainee, number, score, passed, reason in (
        (zhang, 1, "55.0", False, Attempt.EndReason.TRAINEE),
        (zhang, 2, "80.5", True, Attempt.EndReason.TIME_UP),
        (wang, 1, "90.0", True, Attempt.EndReason.FACE_FAILED),  # void: never the best
    ):
        started = day1 + timedelta(days=2, hours=number)
        Attempt.objects.create(
            exam=exam,
            trainee=trainee,
            institution=personas.inst_a,
            number=number,
            status=Attempt.Status.SUBMITTED,
            end_reason=reason,
            started_at=started,
            deadline=started + timedelta(minutes=60),
            submitted_at=started + timedelta(minutes=30),
            total_points=Decimal(100),
            points=Decimal(score),
            score=Decimal(score),
            passed=passed,
        )
    return Records(
        training_class=training_class,
        course=course,
        lessons=lessons,
        zhang=zhang,
        wang=wang,
        day1=day1,
        early=early,
        exam=exam,
    )
