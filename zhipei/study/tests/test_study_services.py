"""Study sessions through the services, with the server clock under the test's control and the
face check replaced by a stub (the real one is tested in zhipei/faces)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import Chapter, Lesson, LessonQuestion
from zhipei.study import ledger, services
from zhipei.study.models import LessonProgress, QuizAnswer, StudySession, UncreditedInterval

pytestmark = pytest.mark.django_db


@dataclass
class FakeAttempt:
    passed: bool
    decision: str = "MATCH"
    message: str = ""


@pytest.fixture(autouse=True, params=["fast", "locked"])
def heartbeat_path(request, monkeypatch):
    """Every test runs twice: with the heartbeat's fast path, and with every heartbeat on the
    locked path. The outcome must be the same."""
    if request.param == "locked":
        monkeypatch.setattr(services, "_heartbeat_fast", lambda *args: None)
    return request.param


@pytest.fixture
def faces(monkeypatch):
    """Queue of face-check outcomes the next study_face_check calls will get."""
    outcomes: list[bool] = []
    monkeypatch.setattr(
        services, "face_verify", lambda **kw: FakeAttempt(outcomes.pop(0) if outcomes else True)
    )
    return outcomes


@pytest.fixture
def lesson(personas):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    lesson = Lesson.objects.create(
        chapter=chapter, title="第一讲", duration_seconds=600, video="lessons/x.mp4"
    )
    return lesson


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = timezone.now()

        def tick(self, seconds):
            self.now += timedelta(seconds=seconds)
            return self.now

    c = Clock()
    monkeypatch.setattr(services.timezone, "now", lambda: c.now)
    return c


def start(personas, lesson, faces, clock):
    session = services.study_session_start(
        trainee=personas.trainee.trainee_profile,
        lesson=lesson,
        institution=personas.inst_a,
        device="d1",
    )
    services.study_face_check(
        session_id=session.pk, trainee=personas.trainee.trainee_profile, frames=[]
    )
    return session


def beat(personas, session, clock, seq, position, **kw):
    data = {
        "rate": 1.0,
        "visible": True,
        "focused": True,
        "playing": True,
        "interacted": True,
        **kw,
    }
    return services.heartbeat_record(
        session_id=session.pk,
        user_id=personas.trainee.pk,
        trainee_id=personas.trainee.trainee_profile.pk,
        beat=services.HeartbeatInput(seq=seq, position=position, **data),
        now=clock.now,
    )


def test_watching_is_credited_and_confirmed_on_end(personas, lesson, faces, clock):
    session = start(personas, lesson, faces, clock)
    beat(personas, session, clock, 1, 0)
    for n in range(1, 13):
        clock.tick(10)
        answer = beat(personas, session, clock, n + 1, n * 10)
    assert answer["credited"] == 120 and answer["status"] == "active"
    session = services.study_session_end(
        session_id=session.pk, trainee=personas.trainee.trainee_profile
    )
    assert session.confirmed_seconds == 120 and session.end_reason == "left"
    progress = LessonProgress.objects.get(trainee=personas.trainee.trainee_profile, lesson=lesson)
    assert progress.credited_seconds == 120 and progress.furthest_position == 120
    assert session.segments.count() == 1  # one row for two minutes, not one per heartbeat


def test_time_before_the_start_check_counts_nothing(personas, lesson, faces, clock):
    session = services.study_session_start(
        trainee=personas.trainee.trainee_profile,
        lesson=lesson,
        institution=personas.inst_a,
        device="d1",
    )
    beat(personas, session, clock, 1, 0)
    clock.tick(10)
    answer = beat(personas, session, clock, 2, 10)
    assert answer["credited"] == 0 and answer["face_check"] is not None and answer["pause"]
    assert UncreditedInterval.objects.get(session=session).reason == ledger.FACE_PENDING


def test_a_failed_recheck_voids_and_three_in_a_row_end_the_session(personas, lesson, faces, clock):
    session = start(personas, lesson, faces, clock)
    beat(personas, session, clock, 1, 0)
    clock.tick(10)
    beat(personas, session, clock, 2, 10)
    faces.extend([False, False, False])
    for _ in range(3):
        session, _ = services.study_face_check(
            session_id=session.pk,
            trainee=personas.trainee.trainee_profile,
            frames=[],
        )
    assert session.status == "ended" and session.end_reason == "face_failed" and session.invalid
    assert session.confirmed_seconds == 0
    assert UncreditedInterval.objects.filter(session=session, reason=ledger.FACE_FAIL).exists()


def test_a_missed_recheck_counts_as_a_failure(personas, lesson, faces, clock):
    session = start(personas, lesson, faces, clock)
    StudySession.objects.filter(pk=session.pk).update(
        next_face_at=clock.now + timedelta(seconds=15)
    )
    beat(personas, session, clock, 1, 0)
    seq = 1
    for n in range(1, 4):
        clock.tick(10)
        seq += 1
        answer = beat(personas, session, clock, seq, n * 10)
    assert answer["face_check"] is not None  # due at 15 s, 60 s to respond
    clock.tick(61)
    answer = beat(personas, session, clock, seq + 1, 30)
    session.refresh_from_db()
    assert (
        session.face_failures == 1 and session.status == "awaiting_face" and answer["credited"] == 0
    )


def test_one_device_at_a_time(personas, lesson, faces, clock):
    first = start(personas, lesson, faces, clock)
    second = services.study_session_start(
        trainee=personas.trainee.trainee_profile,
        lesson=lesson,
        institution=personas.inst_a,
        device="d2",
    )
    first.refresh_from_db()
    assert (
        first.status == "ended"
        and first.end_reason == "concurrent"
        and second.status == "awaiting_face"
    )
    answer = beat(personas, first, clock, 1, 0)
    assert answer["status"] == "ended"


def test_idle_ends_the_session_and_voids_time_after_the_last_activity(
    personas, lesson, faces, clock, settings
):
    settings.STUDY_IDLE_MINUTES = 1
    settings.STUDY_IDLE_RESPONSE_SECONDS = 30
    session = start(personas, lesson, faces, clock)
    beat(personas, session, clock, 1, 0)
    seq = 1
    prompted = False
    for n in range(1, 16):  # interacting only in the first 20 s
        clock.tick(10)
        seq += 1
        answer = beat(personas, session, clock, seq, n * 10, interacted=n <= 2)
        prompted = prompted or answer.get("idle_prompt") is not None
        if answer["status"] == "ended":
            break
    assert prompted  # “还在学习吗？” came first
    assert answer["status"] == "ended" and answer["end_reason"] == "idle"
    session.refresh_from_db()
    # Active until 20 s; everything after the last interaction is void.
    assert session.confirmed_seconds == 20
    assert UncreditedInterval.objects.filter(session=session, reason=ledger.IDLE).exists()


def test_pop_up_question_blocks_until_answered(personas, lesson, faces, clock):
    question = LessonQuestion.objects.create(
        lesson=lesson, text="安全帽的作用？", options=["防护", "装饰"], answer=0
    )
    session = start(personas, lesson, faces, clock)
    StudySession.objects.filter(pk=session.pk).update(next_quiz_at=clock.now)
    beat(personas, session, clock, 1, 0)
    clock.tick(10)
    answer = beat(personas, session, clock, 2, 10)
    assert answer["quiz"]["text"] == question.text and answer["pause"]
    clock.tick(10)
    answer = beat(personas, session, clock, 3, 10, playing=False)
    wrong = services.quiz_answer(
        session_id=session.pk,
        trainee=personas.trainee.trainee_profile,
        quiz_id=answer["quiz"]["id"],
        choice=1,
    )
    assert wrong["correct"] is False and wrong["quiz"] is not None  # asked again
    right = services.quiz_answer(
        session_id=session.pk,
        trainee=personas.trainee.trainee_profile,
        quiz_id=wrong["quiz"]["id"],
        choice=0,
    )
    assert right["correct"] is True and right["quiz"] is None
    assert list(QuizAnswer.objects.filter(session=session).values_list("outcome", flat=True)) == [
        "wrong",
        "correct",
    ]
    with pytest.raises(services.StudyError):
        services.quiz_answer(
            session_id=session.pk,
            trainee=personas.trainee.trainee_profile,
            quiz_id=right.get("quiz") or 1,
            choice=0,
        )


def test_daily_cap_stops_crediting(personas, lesson, faces, clock, settings):
    settings.STUDY_DAILY_CAP_XUESHI = 1
    settings.MINUTES_PER_XUESHI = 1  # a 60 s cap
    session = start(personas, lesson, faces, clock)
    beat(personas, session, clock, 1, 0)
    for n in range(1, 9):
        clock.tick(10)
        answer = beat(personas, session, clock, n + 1, n * 10)
        if answer["status"] == "ended":
            break
    assert answer["end_reason"] == "daily_cap"
    session.refresh_from_db()
    assert session.confirmed_seconds <= 60


def test_another_trainees_session_is_not_found(personas, lesson, faces, clock):
    session = start(personas, lesson, faces, clock)
    other = make_trainee(personas.inst_a, name="王五").trainee_profile
    with pytest.raises(services.StudyError) as exc:
        services.heartbeat_record(
            session_id=session.pk,
            user_id=other.user_id,
            beat=services.HeartbeatInput(1, 0, 1, True, True, True, True),
            now=clock.now,
        )
    assert exc.value.code == "SESSION_NOT_FOUND" and exc.value.status == 404


def test_institution_may_tighten_never_loosen(personas, settings):
    from zhipei.study.models import SupervisionPolicy
    from zhipei.study.policy import policy_for

    SupervisionPolicy.objects.create(
        institution=personas.inst_a,
        idle_minutes=3,
        daily_cap_xueshi=20,
        min_segment_seconds=120,
        face_check_max_minutes=60,
    )
    policy = policy_for(personas.inst_a)
    assert policy.idle_seconds == 180  # stricter than 5 min: applied
    assert (
        policy.daily_cap_seconds == settings.STUDY_DAILY_CAP_XUESHI * 45 * 60
    )  # looser 20: ignored
    assert policy.min_segment_seconds == 120  # longer minimum is stricter
    assert policy.face_max_seconds == 600  # looser 60 min: ignored


def test_a_silent_player_is_ended_as_abandoned_with_its_credit(personas, lesson, faces, clock):
    session = start(personas, lesson, faces, clock)
    # The random re-check (5–10 min) must not fall due in this test's 5½ minutes.
    StudySession.objects.filter(pk=session.pk).update(next_face_at=clock.now + timedelta(hours=1))
    beat(personas, session, clock, 1, 0)
    clock.tick(10)
    beat(personas, session, clock, 2, 10)
    clock.tick(320)  # silent for over 5 minutes, not yet long enough for the idle stop
    assert services.study_sessions_expire() == 1
    session.refresh_from_db()
    assert session.end_reason == "abandoned" and session.confirmed_seconds == 10
    assert services.study_sessions_expire() == 0


def test_class_xueshi_counts_segments_within_the_class_dates(personas, lesson, faces, clock):
    from zhipei.courses.models import ClassMember, TrainingClass
    from zhipei.study.models import StudySegment
    from zhipei.study.selectors import class_xueshi

    today = timezone.localdate()
    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="班",
        kind="vocational",
        start_date=today,
        end_date=today,
        required_xueshi=1,
    )
    training_class.courses.add(personas.course)
    profile = personas.trainee.trainee_profile
    ClassMember.objects.create(training_class=training_class, trainee=profile)
    session = start(personas, lesson, faces, clock)
    now = timezone.now()
    StudySegment.objects.create(
        session=session,
        started_at=now,
        ended_at=now,
        from_position=0,
        to_position=1,
        seconds=45 * 60 * 1.5,
    )
    StudySegment.objects.create(
        session=session,
        started_at=now - timedelta(days=3),
        ended_at=now,
        from_position=0,
        to_position=1,
        seconds=45 * 60,
    )  # before the class
    assert class_xueshi(training_class) == {profile.pk: 1.5}


def watch_past_a_due_recheck(personas, lesson, faces, clock):
    """60 s of study, during which a re-check fell due (at 5 s) and was not answered."""
    session = start(personas, lesson, faces, clock)
    StudySession.objects.filter(pk=session.pk).update(next_face_at=clock.now + timedelta(seconds=5))
    beat(personas, session, clock, 1, 0)
    for n in range(1, 7):
        clock.tick(10)
        beat(personas, session, clock, n + 1, n * 10)
    return session


def test_ending_applies_a_missed_recheck_first(personas, lesson, faces, clock):
    """Leaving (or the beacon) right after missing a re-check cannot confirm the unchecked time."""
    session = watch_past_a_due_recheck(personas, lesson, faces, clock)
    clock.tick(120)  # the re-check was due and never answered
    session = services.study_session_end(
        session_id=session.pk, trainee=personas.trainee.trainee_profile
    )
    assert session.confirmed_seconds == 0 and session.face_failures == 1


def test_a_late_face_check_cannot_rescue_a_missed_one(personas, lesson, faces, clock):
    session = watch_past_a_due_recheck(personas, lesson, faces, clock)
    clock.tick(240)
    session, _ = services.study_face_check(
        session_id=session.pk, trainee=personas.trainee.trainee_profile, frames=[]
    )
    # The missed check was counted and its time voided first; then the late pass reset the count.
    assert session.confirmed_seconds == 0 and session.face_failures == 0
    assert UncreditedInterval.objects.filter(
        session=session, reason=ledger.FACE_FAIL, seconds__gt=0
    ).exists()


def test_two_starts_leave_one_live_session(personas, lesson, faces, clock):
    for device in ("a", "b", "c"):
        services.study_session_start(
            trainee=personas.trainee.trainee_profile,
            lesson=lesson,
            institution=personas.inst_a,
            device=device,
        )
    live = StudySession.objects.filter(trainee=personas.trainee.trainee_profile).exclude(
        status="ended"
    )
    assert live.count() == 1 and live.get().device == "c"


def test_guessing_voids_time_and_calls_a_face_check(personas, lesson, faces, clock):
    LessonQuestion.objects.create(
        lesson=lesson, text="问题", options=["对", "错", "不知道", "都对"], answer=0
    )
    session = start(personas, lesson, faces, clock)
    StudySession.objects.filter(pk=session.pk).update(
        next_quiz_at=clock.now + timedelta(seconds=15)
    )
    beat(personas, session, clock, 1, 0)
    seq = 1
    for n in range(1, 4):
        clock.tick(10)
        seq += 1
        answer = beat(personas, session, clock, seq, n * 10)
    assert answer["quiz"] is not None and answer["confirmed"] == 0 and answer["credited"] > 0
    for _ in range(3):
        answer = services.quiz_answer(
            session_id=session.pk,
            trainee=personas.trainee.trainee_profile,
            quiz_id=answer["quiz"]["id"],
            choice=1,
        )
    assert answer["credited"] == 0 and answer["face_check"] is not None
