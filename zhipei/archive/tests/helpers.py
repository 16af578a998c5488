"""A trainee's record made directly in the database: study sessions with segments, uncredited
intervals, pop-up answers and face checks (with real encrypted JPEG evidence), exam attempts."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from zhipei.accounts.models import TraineeProfile
from zhipei.core.crypto import field_cipher
from zhipei.courses.models import Chapter, Course, Lesson, LessonQuestion
from zhipei.exams.models import Attempt, Exam, Paper
from zhipei.faces.models import Decision, FaceAttempt, Purpose
from zhipei.faces.services import EVIDENCE_AAD
from zhipei.institutions.models import Institution
from zhipei.study.models import QuizAnswer, StudySegment, StudySession, UncreditedInterval


def jpeg(colour: str = "gray", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def face(
    profile: TraineeProfile,
    institution: Institution,
    *,
    at: datetime,
    purpose: str = Purpose.STUDY_RECHECK,
    decision: str = Decision.MATCH,
    context: str = "",
    colour: str = "gray",
) -> FaceAttempt:
    """A face attempt with its evidence stored encrypted, as face_verify leaves it."""
    name = default_storage.save(
        "evidence/test.jpg.enc",
        ContentFile(field_cipher().encrypt_bytes(jpeg(colour), context=EVIDENCE_AAD)),
    )
    return FaceAttempt.objects.create(
        trainee=profile,
        institution=institution,
        purpose=purpose,
        decision=decision,
        at=at,
        distance=0.31 if decision == Decision.MATCH else 0.72,
        threshold=0.5,
        context=context,
        evidence=name,
        frame_count=3,
    )


def lesson_of(course: Course) -> Lesson:
    lesson = Lesson.objects.filter(chapter__course=course).first()
    if lesson is None:
        chapter = Chapter.objects.create(course=course, title="第一章 安全用电")
        lesson = Lesson.objects.create(
            chapter=chapter, title="第一讲 触电急救", duration_seconds=3600
        )
        LessonQuestion.objects.create(
            lesson=lesson,
            text="发现有人触电，首先应当？",
            options=["切断电源", "直接拉人"],
            answer=0,
        )
    return lesson


def study_session(
    profile: TraineeProfile,
    course: Course,
    *,
    start: datetime,
    with_details: bool = True,
) -> StudySession:
    """An ended session: a start check, a 20-minute segment, a recheck, a hidden interval, a
    paused interval, one right and one timed-out pop-up answer."""
    lesson = lesson_of(course)
    session = StudySession.objects.create(
        trainee=profile,
        lesson=lesson,
        institution=course.institution,
        device="dev-1",
        status=StudySession.Status.ENDED,
        end_reason=StudySession.EndReason.LEFT,
        started_at=start,
        ended_at=start + timedelta(minutes=30),
        credited_seconds=1200,
        confirmed_seconds=1200,
    )
    if not with_details:
        return session
    StudySegment.objects.create(
        session=session,
        started_at=start + timedelta(minutes=1),
        ended_at=start + timedelta(minutes=21),
        from_position=0,
        to_position=1200,
        seconds=1200,
    )
    UncreditedInterval.objects.create(
        session=session,
        started_at=start + timedelta(minutes=21),
        ended_at=start + timedelta(minutes=24),
        seconds=180,
        reason="HIDDEN",
    )
    UncreditedInterval.objects.create(
        session=session,
        started_at=start + timedelta(minutes=24),
        ended_at=start + timedelta(minutes=25),
        seconds=60,
        reason="PAUSED",
    )
    question = lesson.questions.first()
    assert question is not None
    QuizAnswer.objects.create(
        session=session,
        question=question,
        asked_at=start + timedelta(minutes=10),
        deadline=start + timedelta(minutes=11),
        answered_at=start + timedelta(minutes=10, seconds=20),
        choice=0,
        outcome=QuizAnswer.Outcome.CORRECT,
    )
    QuizAnswer.objects.create(
        session=session,
        question=question,
        asked_at=start + timedelta(minutes=20),
        deadline=start + timedelta(minutes=21),
        outcome=QuizAnswer.Outcome.TIMEOUT,
    )
    face(
        profile,
        course.institution,
        at=start,
        purpose=Purpose.STUDY_START,
        context=f"study:{session.pk}",
    )
    face(
        profile,
        course.institution,
        at=start + timedelta(minutes=21),
        decision=Decision.MISMATCH,
        context=f"study:{session.pk}",
        colour="white",
    )
    return session


def exam_attempt(profile: TraineeProfile, institution: Institution, *, start: datetime) -> Attempt:
    """A submitted, passed attempt whose start check and one recheck have evidence."""
    exam = Exam.objects.filter(institution=institution).first()
    if exam is None:
        exam = Exam.objects.create(
            institution=institution,
            title="电工基础课程考试",
            paper=Paper.objects.create(institution=institution, title="试卷", mode="fixed"),
            scope=Exam.Scope.COURSE,
            course=Course.objects.filter(institution=institution).first(),
            opens_at=start - timedelta(days=1),
            closes_at=start + timedelta(days=1),
            duration_minutes=30,
            requires_completion=False,
        )
    start_face = face(
        profile, institution, at=start, purpose=Purpose.EXAM_START, context=f"exam:{exam.pk}"
    )
    attempt = Attempt.objects.create(
        exam=exam,
        trainee=profile,
        institution=institution,
        number=Attempt.objects.filter(exam=exam, trainee=profile).count() + 1,
        status=Attempt.Status.SUBMITTED,
        end_reason=Attempt.EndReason.TRAINEE,
        started_at=start,
        deadline=start + timedelta(minutes=30),
        submitted_at=start + timedelta(minutes=20),
        total_points=Decimal(100),
        points=Decimal("85.0"),
        score=Decimal("85.0"),
        passed=True,
        start_face=start_face,
        face_checks=1,
        page_leaves=2,
    )
    face(
        profile,
        institution,
        at=start + timedelta(minutes=10),
        purpose=Purpose.EXAM_RECHECK,
        context=f"attempt:{attempt.pk}",
    )
    return attempt


@dataclass
class Record:
    sessions: list[StudySession] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    other_session: StudySession | None = None
    other_face: FaceAttempt | None = None


def full_record(personas) -> Record:
    """Institution A's trainee with two study sessions and an exam attempt at A, and — being a
    member of B too — a session and a face check at B that A must never see."""
    from zhipei.accounts.models import Membership

    profile = personas.trainee.trainee_profile
    base = timezone.now() - timedelta(days=2)
    record = Record()
    record.sessions = [
        study_session(profile, personas.course, start=base),
        study_session(profile, personas.course, start=base + timedelta(days=1)),
    ]
    record.attempts = [exam_attempt(profile, personas.inst_a, start=base + timedelta(hours=3))]
    Membership.objects.create(trainee=profile, institution=personas.inst_b, source="self")
    course_b = Course.objects.create(
        institution=personas.inst_b,
        title="创业基础",
        kind=Course.Kind.ENTREPRENEURSHIP,
        theory_hours=10,
        practical_hours=0,
    )
    record.other_session = study_session(profile, course_b, start=base + timedelta(hours=5))
    record.other_face = FaceAttempt.objects.filter(
        context=f"study:{record.other_session.pk}"
    ).first()
    return record
