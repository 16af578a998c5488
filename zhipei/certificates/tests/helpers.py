"""Study hours and exam results made directly in the database, for certificate tests (and the
authorization matrix's certificate rows)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from zhipei.accounts.models import TraineeProfile
from zhipei.courses.models import Chapter, ClassMember, Course, Lesson, TrainingClass
from zhipei.exams.models import Attempt, Exam, Paper
from zhipei.study.models import StudySegment, StudySession


def make_class(
    course: Course,
    *,
    required: str = "2",
    start: date | None = None,
    end: date | None = None,
    name: str = "电工（五级）第一期",
) -> TrainingClass:
    today = timezone.localdate()
    training_class = TrainingClass.objects.create(
        institution=course.institution,
        name=name,
        kind=course.kind,
        start_date=start or today - timedelta(days=10),
        end_date=end or today + timedelta(days=10),
        required_xueshi=Decimal(required),
    )
    training_class.courses.add(course)
    return TrainingClass.objects.get(pk=training_class.pk)


def add_member(training_class: TrainingClass, profile: TraineeProfile) -> None:
    ClassMember.objects.get_or_create(training_class=training_class, trainee=profile)


def _lesson(course: Course) -> Lesson:
    lesson = Lesson.objects.filter(chapter__course=course).first()
    if lesson is None:
        chapter = Chapter.objects.create(course=course, title="第一章 安全用电")
        lesson = Lesson.objects.create(chapter=chapter, title="第一讲", duration_seconds=36000)
    return lesson


def give_hours(
    profile: TraineeProfile,
    training_class: TrainingClass,
    xueshi: float,
    *,
    at: datetime | None = None,
) -> None:
    """A finished study session of the class's first course with one confirmed segment worth
    ``xueshi`` 学时, starting at ``at`` (default: the class's first day, 09:00)."""
    course = training_class.courses.order_by("id").first()
    assert course is not None
    seconds = xueshi * settings.MINUTES_PER_XUESHI * 60
    started = at or datetime.combine(
        training_class.start_date,
        time(9),
        tzinfo=timezone.get_current_timezone(),
    )
    session = StudySession.objects.create(
        trainee=profile,
        lesson=_lesson(course),
        institution=training_class.institution,
        training_class=training_class,
        device="test",
        status=StudySession.Status.ENDED,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        credited_seconds=seconds,
        confirmed_seconds=seconds,
    )
    StudySegment.objects.create(
        session=session,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        from_position=0,
        to_position=seconds,
        seconds=seconds,
    )


def give_exam(
    profile: TraineeProfile, training_class: TrainingClass, *, score: str, passed: bool
) -> Attempt:
    """A submitted attempt at the class's final exam."""
    institution = training_class.institution
    exam = Exam.objects.filter(training_class=training_class, scope=Exam.Scope.CLASS).first()
    if exam is None:
        paper = Paper.objects.create(
            institution=institution, title="电工结业试卷", mode=Paper.Mode.FIXED
        )
        now = timezone.now()
        exam = Exam.objects.create(
            institution=institution,
            title="电工（五级）结业考试",
            paper=paper,
            scope=Exam.Scope.CLASS,
            training_class=training_class,
            opens_at=now - timedelta(days=2),
            closes_at=now + timedelta(days=2),
            duration_minutes=60,
        )
    number = Attempt.objects.filter(exam=exam, trainee=profile).count() + 1
    started = timezone.now() - timedelta(hours=2)
    return Attempt.objects.create(
        exam=exam,
        trainee=profile,
        institution=institution,
        number=number,
        status=Attempt.Status.SUBMITTED,
        end_reason=Attempt.EndReason.TRAINEE,
        started_at=started,
        deadline=started + timedelta(minutes=60),
        submitted_at=started + timedelta(minutes=30),
        score=Decimal(score),
        passed=passed,
    )


def matrix_certificate(personas):
    """A 学时证明 of institution A's trainee, for the authorization matrix's rows."""
    from zhipei.certificates.models import Certificate
    from zhipei.certificates.services import certificate_issue

    training_class = TrainingClass.objects.get(pk=personas.training_class.pk)
    if not training_class.courses.exists():
        training_class.courses.add(personas.course)
    profile = personas.trainee.trainee_profile
    existing = Certificate.objects.filter(trainee=profile, training_class=training_class).first()
    if existing is not None:
        return existing
    add_member(training_class, profile)
    give_hours(profile, training_class, 3)
    return certificate_issue(
        training_class=training_class, trainee=profile, kind="hours", by=personas.admin
    )
