"""Sitting an exam through the services: starting on a face match, saving answers, the
server's deadline, re-checks, grading and the attempt limit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from zhipei.audit.models import AuditEntry
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import Chapter, ClassMember, Lesson, TrainingClass
from zhipei.exams import services
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.tests.fixtures import face_pass, item_of, right_answer, start
from zhipei.faces.models import Decision
from zhipei.study.models import LessonProgress

pytestmark = pytest.mark.django_db


def answer(attempt, item, value, **kw):
    return services.attempt_answer(
        attempt_id=attempt.pk,
        trainee=attempt.trainee,
        question_id=item["id"],
        value=value,
        **kw,
    )


def test_start_needs_a_fresh_unused_face_match(personas, exam):
    profile = personas.trainee.trainee_profile
    with pytest.raises(services.ExamError) as exc:
        services.attempt_start(exam=exam, trainee=profile)
    assert exc.value.code == "FACE_REQUIRED"
    face_pass(profile, exam, decision=Decision.MISMATCH)
    face_pass(profile, exam, at=timezone.now() - timedelta(minutes=6))  # too old
    with pytest.raises(services.ExamError) as exc:
        services.attempt_start(exam=exam, trainee=profile)
    assert exc.value.code == "FACE_REQUIRED"
    assert not Attempt.objects.exists()

    attempt = start(profile, exam)
    assert attempt.number == 1 and attempt.status == Attempt.Status.IN_PROGRESS
    assert attempt.start_face is not None and attempt.total_points == Decimal(100)
    assert attempt.deadline == attempt.started_at + timedelta(minutes=30)
    # Starting again resumes the same attempt; nothing new is drawn.
    assert services.attempt_start(exam=exam, trainee=profile).pk == attempt.pk
    services.attempt_submit(attempt_id=attempt.pk, trainee=profile)
    # The spent match does not open a second attempt.
    with pytest.raises(services.ExamError) as exc:
        services.attempt_start(exam=exam, trainee=profile)
    assert exc.value.code == "FACE_REQUIRED"
    assert start(profile, exam).number == 2
    assert AuditEntry.objects.filter(action="exam.start").count() == 2


def test_attempt_limit(personas, exam):
    profile = personas.trainee.trainee_profile
    for _ in range(2):
        attempt = start(profile, exam)
        services.attempt_submit(attempt_id=attempt.pk, trainee=profile)
    with pytest.raises(services.ExamError) as exc:
        start(profile, exam)
    assert exc.value.code == "NO_ATTEMPTS_LEFT"
    assert Attempt.objects.count() == 2


def test_window_class_and_completion_rules(personas, exam):
    profile = personas.trainee.trainee_profile
    exam.opens_at = timezone.now() + timedelta(hours=1)
    exam.closes_at = timezone.now() + timedelta(hours=2)
    exam.save()
    with pytest.raises(services.ExamError) as exc:
        start(profile, exam)
    assert exc.value.code == "EXAM_NOT_OPEN"
    exam.opens_at = timezone.now() - timedelta(hours=2)
    exam.closes_at = timezone.now() - timedelta(hours=1)
    exam.save()
    with pytest.raises(services.ExamError) as exc:
        start(profile, exam)
    assert exc.value.code == "EXAM_CLOSED"

    exam.closes_at = timezone.now() + timedelta(hours=1)
    exam.requires_completion = True
    exam.save()
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    lesson = Lesson.objects.create(chapter=chapter, title="第一讲", duration_seconds=60)
    with pytest.raises(services.ExamError) as exc:
        start(profile, exam)
    assert exc.value.code == "STUDY_INCOMPLETE"
    LessonProgress.objects.create(
        trainee=profile, lesson=lesson, credited_seconds=60, completed_at=timezone.now()
    )
    assert start(profile, exam).status == Attempt.Status.IN_PROGRESS

    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="电工一班",
        kind="vocational",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() + timedelta(days=30),
        required_xueshi=1,
    )
    exam.scope, exam.training_class, exam.requires_completion = "class", training_class, False
    exam.save()
    other = make_trainee(personas.inst_a, name="王五", n=77).trainee_profile
    with pytest.raises(services.ExamError) as exc:
        start(other, exam)
    assert exc.value.code == "NOT_IN_CLASS"
    ClassMember.objects.create(training_class=training_class, trainee=other)
    assert start(other, exam).status == Attempt.Status.IN_PROGRESS


def test_questions_and_options_are_shuffled_per_trainee_and_graded_by_meaning(personas, exam):
    orders = set()
    for n in range(6):
        other = make_trainee(personas.inst_a, name="学员", n=100 + n).trainee_profile
        attempt = start(other, exam)
        orders.add(tuple(i["id"] for i in attempt.paper))
        for item in attempt.paper:
            answer(attempt, item, right_answer(item))
        done = services.attempt_submit(attempt_id=attempt.pk, trainee=other)
        assert done.score == Decimal(100) and done.passed
    assert len(orders) > 1  # 6 draws of 24 orders all alike: 1 in 24^5


def test_answers_are_saved_and_grading_is_exact(personas, exam):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    single, multiple = item_of(attempt, "single"), item_of(attempt, "multiple")
    judge, fill = item_of(attempt, "judge"), item_of(attempt, "fill")
    answer(attempt, single, right_answer(single))
    answer(attempt, multiple, right_answer(multiple)[:1])  # part of the set: no points
    answer(attempt, judge, [0])  # wrong
    answer(attempt, fill, ["５０ ", " hz"])  # full-width digits, spaces, case: right
    answer(attempt, judge, None)  # cleared
    attempt.refresh_from_db()
    assert set(attempt.answers) == {str(single["id"]), str(multiple["id"]), str(fill["id"])}
    done = services.attempt_submit(attempt_id=attempt.pk, trainee=profile)
    assert done.points == Decimal(50) and done.score == Decimal(50)
    assert done.passed is False and done.end_reason == Attempt.EndReason.TRAINEE
    assert done.marks[str(multiple["id"])] == "0"
    assert AuditEntry.objects.filter(action="exam.submit", actor_id=personas.trainee.pk).exists()


def test_fill_blanks_earn_their_share(personas, exam):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    answer(attempt, item_of(attempt, "fill"), ["五十", "赫兹"])
    done = services.attempt_submit(attempt_id=attempt.pk, trainee=profile)
    assert done.points == Decimal("12.5")


@pytest.mark.parametrize(
    "kind,value,code",
    [
        ("single", [7], "BAD_ANSWER"),  # no such option
        ("single", [0, 1], "BAD_ANSWER"),  # two for a single choice
        ("multiple", [1, 1], "BAD_ANSWER"),
        ("judge", ["0"], "BAD_ANSWER"),
        ("fill", ["50"], "BAD_ANSWER"),  # one text for two blanks
        ("fill", "50", "BAD_ANSWER"),
        ("fill", ["x" * 201, "Hz"], "BAD_ANSWER"),
    ],
)
def test_malformed_answers_change_nothing(personas, exam, kind, value, code):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    with pytest.raises(services.ExamError) as exc:
        answer(attempt, item_of(attempt, kind), value)
    assert exc.value.code == code
    attempt.refresh_from_db()
    assert attempt.answers == {} and attempt.answers_saved_at is None


def test_question_not_in_paper_and_other_trainees_attempt(personas, exam, bank):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    for bad in (999_999, "1", True, None):
        with pytest.raises(services.ExamError) as exc:
            services.attempt_answer(
                attempt_id=attempt.pk, trainee=profile, question_id=bad, value=[0]
            )
        assert exc.value.code == "BAD_QUESTION"
    other = make_trainee(personas.inst_a, name="王五", n=78).trainee_profile
    for call in (
        lambda: services.attempt_answer(
            attempt_id=attempt.pk, trainee=other, question_id=bank[0].pk, value=[0]
        ),
        lambda: services.attempt_submit(attempt_id=attempt.pk, trainee=other),
        lambda: services.attempt_page_leave(attempt_id=attempt.pk, trainee=other),
    ):
        with pytest.raises(services.ExamError) as exc:
            call()
        assert exc.value.code == "ATTEMPT_NOT_FOUND"
    attempt.refresh_from_db()
    assert attempt.answers == {} and attempt.status == "in_progress" and attempt.page_leaves == 0


def test_the_server_deadline_is_final(personas, exam):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    single = item_of(attempt, "single")
    answer(attempt, single, right_answer(single))
    # Within the grace for the network, still taken.
    fill = item_of(attempt, "fill")
    answer(attempt, fill, right_answer(fill), now=attempt.deadline + timedelta(seconds=1))
    late = attempt.deadline + timedelta(seconds=10)
    judge = item_of(attempt, "judge")
    with pytest.raises(services.ExamError) as exc:
        answer(attempt, judge, right_answer(judge), now=late)
    assert exc.value.code == "TIME_UP"
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    assert attempt.end_reason == Attempt.EndReason.TIME_UP
    assert attempt.submitted_at == attempt.deadline
    assert str(judge["id"]) not in attempt.answers and attempt.score == Decimal(50)
    with pytest.raises(services.ExamError) as exc:
        answer(attempt, judge, right_answer(judge))
    assert exc.value.code == "ATTEMPT_CLOSED"


def test_deadline_never_passes_the_exam_window(personas, exam):
    exam.closes_at = timezone.now() + timedelta(minutes=10)
    exam.save()
    attempt = start(personas.trainee.trainee_profile, exam)
    assert attempt.deadline == exam.closes_at


def test_expiry_submits_abandoned_attempts(personas, exam):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    assert services.attempts_expire() == 0
    assert services.attempts_expire(now=attempt.deadline + timedelta(seconds=30)) == 1
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.end_reason == "time_up"
    assert attempt.score == Decimal(0)


def test_unanswered_face_rechecks_void_the_attempt(personas, exam, settings):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    due = attempt.next_face_at
    assert due is not None and attempt.started_at + timedelta(minutes=5) <= due
    item = item_of(attempt, "single")
    moment = due + timedelta(seconds=61)
    answer(attempt, item, [0], now=moment)  # saved; the missed check counts as a failure
    attempt.refresh_from_db()
    assert attempt.face_failures == 1 and services.face_due(attempt, moment)
    answer(attempt, item, [1], now=moment + timedelta(seconds=61))
    with pytest.raises(services.ExamError) as exc:
        answer(attempt, item, [2], now=moment + timedelta(seconds=122))
    assert exc.value.code == "FACE_FAILED"
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.invalid and attempt.passed is False
    assert attempt.face_failures == 3 and attempt.answers[str(item["id"])] == [1]


def test_recheck_outcomes(personas, exam, monkeypatch):
    from zhipei.faces import models as face_models

    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    outcomes = [False, True]

    def fake_verify(**kw):
        passed = outcomes.pop(0)
        return face_models.FaceAttempt.objects.create(
            trainee=profile,
            institution=personas.inst_a,
            purpose=kw["purpose"],
            decision="MATCH" if passed else "MISMATCH",
            context=kw["context"],
        )

    monkeypatch.setattr(services, "face_verify", fake_verify)
    attempt, face = services.attempt_face_check(attempt_id=attempt.pk, trainee=profile, frames=[])
    assert not face.passed and attempt.face_failures_in_row == 1
    assert face.context == f"attempt:{attempt.pk}"
    attempt, face = services.attempt_face_check(attempt_id=attempt.pk, trainee=profile, frames=[])
    assert face.passed and attempt.face_failures_in_row == 0 and attempt.face_failures == 1
    assert attempt.face_checks == 2 and attempt.next_face_at > timezone.now()


def test_page_leaves_are_counted(personas, exam):
    profile = personas.trainee.trainee_profile
    attempt = start(profile, exam)
    for _ in range(3):
        services.attempt_page_leave(attempt_id=attempt.pk, trainee=profile)
    attempt.refresh_from_db()
    assert attempt.page_leaves == 3


def test_random_papers_draw_by_rules(personas, bank):
    more = [
        services.question_create(
            institution=personas.inst_a,
            by=None,
            kind="single",
            stem=f"单选题 {n}",
            options=["甲", "乙", "丙"],
            answer=[n % 3],
            difficulty=1 + n % 3,
        )
        for n in range(9)
    ]
    with pytest.raises(ValueError, match="只有"):
        services.paper_create(
            institution=personas.inst_a,
            title="随机卷",
            by=None,
            rules=[{"kind": "single", "count": 11, "score": 5}],
        )
    paper = services.paper_create(
        institution=personas.inst_a,
        title="随机卷",
        by=None,
        rules=[
            {"kind": "single", "count": 3, "score": 10, "difficulty": 3},
            {"kind": "single", "count": 5, "score": 10},
            {"kind": "fill", "count": 1, "score": 20},
        ],
    )
    items = services.pool_draw(services.paper_pool(paper))
    ids = [i["id"] for i in items]
    assert len(ids) == 9 == len(set(ids))
    hard = {q.pk for q in more if q.difficulty == 3}
    assert len(hard & set(ids)) >= 3
    for item in items:
        if item["kind"] == "single":
            original = next(q for q in [*bank, *more] if q.pk == item["id"])
            assert [original.options[i] for i in item["perm"]] == item["options"]


@pytest.mark.parametrize(
    "kind,options,answer,message",
    [
        ("single", ["甲"], [0], "2–8 个选项"),
        ("single", ["甲", "乙"], [0, 1], "只有一个正确答案"),
        ("multiple", ["甲", "乙", "丙"], [1], "至少两个"),
        ("single", ["甲", "甲"], [0], "不能重复"),
        ("single", ["甲", "乙"], [2], "选项中的"),
        ("fill", [], [[" "]], "没有答案"),
        ("essay", [], [0], "题型"),
    ],
)
def test_question_validation(kind, options, answer, message):
    with pytest.raises(ValueError, match=message):
        services.question_clean(kind=kind, stem="题干", options=options, answer=answer)


def test_exam_settings_cannot_be_looser_than_the_platform(personas, paper):
    now = timezone.now()
    with pytest.raises(ValueError, match="及格分"):
        services.exam_create(
            institution=personas.inst_a,
            by=None,
            title="考试",
            paper=paper,
            scope=Exam.Scope.COURSE,
            course=personas.course,
            opens_at=now,
            closes_at=now + timedelta(hours=1),
            duration_minutes=30,
            pass_mark=Decimal(50),
        )
    other_course = personas.course.__class__.objects.create(
        institution=personas.inst_b, title="创业指导", kind="entrepreneurship"
    )
    with pytest.raises(ValueError, match="本机构"):
        services.exam_create(
            institution=personas.inst_a,
            by=None,
            title="考试",
            paper=paper,
            scope=Exam.Scope.COURSE,
            course=other_course,
            opens_at=now,
            closes_at=now + timedelta(hours=1),
            duration_minutes=30,
        )


def test_a_published_exam_keeps_its_questions(personas, exam, bank):
    profile = personas.trainee.trainee_profile
    services.question_update(question=bank[0], by=None, stem="改过的题干", active=False)
    attempt = start(profile, exam)
    stems = [i["stem"] for i in attempt.paper]
    assert "安全电压一般不超过多少伏？" in stems and "改过的题干" not in stems
    # The retired question is no longer drawn by a new paper's rules.
    with pytest.raises(ValueError, match="只有 0 道"):
        services.paper_create(
            institution=personas.inst_a,
            title="随机卷",
            by=None,
            rules=[{"kind": "single", "count": 1, "score": 10}],
        )


def test_the_service_refuses_an_exam_that_is_not_the_trainees(personas, exam):
    """Called without the view's check (no facts given), the service checks itself."""
    outsider = personas.trainee_b.trainee_profile  # another institution's trainee
    face_pass(outsider, exam)
    with pytest.raises(services.ExamError) as exc:
        services.attempt_start(exam=exam, trainee=outsider)
    assert exc.value.code == "EXAM_NOT_FOUND"
    assert not Attempt.objects.exists()
