"""The heartbeat's fast path: two statements on the common path, the same outcome as the locked
path in every case, and a clean fall back when the row changed under it."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import client_for
from zhipei.core.crypto import field_cipher
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import Chapter, Lesson, LessonQuestion
from zhipei.lib.crypto import DecryptionError
from zhipei.study import ledger, services
from zhipei.study.models import StudySession
from zhipei.study.tokens import read_session_token, session_token

pytestmark = pytest.mark.django_db
FAST_PATH = services._heartbeat_fast  # the tests below patch it in and out


@pytest.fixture
def lesson(personas):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    return Lesson.objects.create(
        chapter=chapter, title="第一讲", duration_seconds=3600, video="lessons/x.mp4"
    )


@pytest.fixture
def clock(monkeypatch):
    c = SimpleNamespace(now=timezone.now())
    monkeypatch.setattr(services.timezone, "now", lambda: c.now)
    return c


class MidpointRng:
    """Face checks and questions fall due at the same moments in two sessions."""

    def uniform(self, low: float, high: float) -> float:
        return (low + high) / 2

    def choice(self, items: list[Any]) -> Any:
        return items[0]


@pytest.fixture
def faces(monkeypatch):
    outcomes: list[bool] = []
    monkeypatch.setattr(
        services,
        "face_verify",
        lambda **kw: SimpleNamespace(passed=outcomes.pop(0) if outcomes else True),
    )
    monkeypatch.setattr(services, "_rng", MidpointRng())
    return outcomes


def started(trainee, lesson, institution):
    session = services.study_session_start(
        trainee=trainee.trainee_profile, lesson=lesson, institution=institution, device="d"
    )
    services.study_face_check(session_id=session.pk, trainee=trainee.trainee_profile, frames=[])
    return session


def beat(session, trainee, now, seq, position, state=None, **flags):
    data = {"rate": 1.0, "visible": True, "focused": True, "playing": True, "interacted": True}
    return services.heartbeat_record(
        session_id=session.pk,
        user_id=trainee.pk,
        trainee_id=trainee.trainee_profile.pk,
        beat=services.HeartbeatInput(seq=seq, position=position, **(data | flags)),
        now=now,
        sealed=state,
    )


def test_the_common_heartbeat_is_one_read_and_one_write(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    beat(session, personas.trainee, clock.now, 1, 0)
    version = StudySession.objects.get(pk=session.pk).version
    clock.now += timedelta(seconds=10)
    with CaptureQueriesContext(connection) as queries:
        answer = beat(session, personas.trainee, clock.now, 2, 10)
    assert answer["credited"] == 10 and answer["status"] == "active"
    assert _statements(queries) == ["SELECT", "UPDATE"], queries.captured_queries  # no BEGIN
    assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]
    assert StudySession.objects.get(pk=session.pk).version == version + 1


def test_the_heartbeat_request_makes_two_queries(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    client = client_for(personas.trainee)
    token = session_token(
        session_id=session.pk,
        user_id=personas.trainee.pk,
        trainee_id=personas.trainee.trainee_profile.pk,
    )
    url = reverse("study:api_heartbeat", args=[session.pk])
    body = {"seq": 1, "position": 0, "rate": 1, "visible": True, "focused": True}
    body |= {"playing": True, "interacted": True}
    headers = {"X-Study-Token": token}
    client.post(url, json.dumps(body), content_type="application/json", headers=headers)
    clock.now += timedelta(seconds=10)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            url,
            json.dumps(body | {"seq": 2, "position": 10}),
            content_type="application/json",
            headers=headers,
        )
    assert response.status_code == 200 and response.json()["credited"] == 10
    # Neither the Django session nor the user is loaded: the token is the credential.
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split()[0] for q in queries.captured_queries]


def test_with_the_last_answers_state_the_heartbeat_is_one_write(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    state = beat(session, personas.trainee, clock.now, 1, 0)["state"]
    for seq in (2, 3):
        clock.now += timedelta(seconds=10)
        with CaptureQueriesContext(connection) as queries:
            answer = beat(session, personas.trainee, clock.now, seq, 10 * (seq - 1), state)
        assert _statements(queries) == ["UPDATE"], queries.captured_queries
        assert answer["credited"] == 10 * (seq - 1) and answer["state"] != state
        state = answer["state"]
    fresh = StudySession.objects.get(pk=session.pk)
    assert fresh.credited_seconds == 20 and fresh.ledger["last_seq"] == 3


def test_the_state_is_sealed(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    state = beat(session, personas.trainee, clock.now, 1, 0)["state"]
    row = StudySession.objects.get(pk=session.pk)
    opened = services._open_row(state, session.pk, personas.trainee.trainee_profile.pk)
    assert opened is not None and opened[5] == row.next_face_at and opened[11] == row.version
    # Encrypted: when the next face check and question fall due is not readable from it.
    due = str((row.next_face_at - services._EPOCH) // services._MICROSECOND)
    blob = base64.urlsafe_b64decode(state.rsplit("$", 1)[1] + "==")
    assert due not in state and due.encode() not in blob and b"last_seq" not in blob
    # Keys of its own, not the field keys that encrypt personal data.
    with pytest.raises(DecryptionError):
        field_cipher().decrypt(state, context=services._STATE_CONTEXT % session.pk)
    assert services._open_row(state, session.pk + 1, personas.trainee.trainee_profile.pk) is None
    assert services._open_row(state, session.pk, personas.trainee.trainee_profile.pk + 1) is None
    flipped = state[:-3] + ("A" if state[-3] != "A" else "B") + state[-2:]
    assert services._open_row(flipped, session.pk, personas.trainee.trainee_profile.pk) is None
    assert (
        services._open_row("not a state", session.pk, personas.trainee.trainee_profile.pk) is None
    )


def test_a_sealed_row_too_big_to_send_back_is_not_sent(personas, lesson, faces, clock):
    """A ledger with many pending runs: the answer has no state, the next heartbeat reads."""
    session = started(personas.trainee, lesson, personas.inst_a)
    beat(session, personas.trainee, clock.now, 1, 0)
    row = StudySession.objects.get(pk=session.pk)
    state = ledger.State.from_json(row.ledger)
    start = state.last_at - 400
    state.pending = [ledger.Run(start + i, start + i + 0.5, 0.0, 0.0) for i in range(200)]
    StudySession.objects.filter(pk=session.pk).update(
        ledger=state.to_json(), version=F("version") + 1
    )
    clock.now += timedelta(seconds=10)
    answer = beat(session, personas.trainee, clock.now, 2, 10)
    assert answer["status"] == "active" and answer["credited"] == 10 and "state" not in answer


@pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit: PostgreSQL")
@pytest.mark.django_db(transaction=True)  # each statement its own transaction, as in production
def test_the_heartbeat_write_alone_commits_asynchronously(personas, lesson, faces, clock, settings):
    session = started(personas.trainee, lesson, personas.inst_a)
    state = beat(session, personas.trainee, clock.now, 1, 0)["state"]
    for asynchronous in (True, False):
        settings.STUDY_HEARTBEAT_ASYNC_COMMIT = asynchronous
        clock.now += timedelta(seconds=10)
        with CaptureQueriesContext(connection) as queries:
            state = beat(session, personas.trainee, clock.now, 2 + asynchronous, 10, state)["state"]
        (write,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
        assert ("synchronous_commit" in write) is asynchronous
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # the statement's transaction only


def test_a_state_that_is_no_longer_current_is_read_again(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    first = beat(session, personas.trainee, clock.now, 1, 0)["state"]
    clock.now += timedelta(seconds=10)
    second = beat(session, personas.trainee, clock.now, 2, 10, first)
    assert second["credited"] == 10
    # A replay of the older state with the next heartbeat: its write finds another version.
    clock.now += timedelta(seconds=10)
    with CaptureQueriesContext(connection) as queries:
        third = beat(session, personas.trainee, clock.now, 3, 20, first)
    assert _statements(queries) == ["UPDATE", "SELECT", "UPDATE"], queries.captured_queries
    assert third["credited"] == 20
    # The same heartbeat again, with either state: a duplicate, credited once.
    for state in (first, second["state"], third["state"]):
        assert beat(session, personas.trainee, clock.now, 3, 20, state)["credited"] == 20
    # Another request wrote the row (a face check, the console): the state is stale.
    StudySession.objects.filter(pk=session.pk).update(
        next_face_at=clock.now + timedelta(seconds=15), version=F("version") + 1
    )
    clock.now += timedelta(seconds=10)
    assert beat(session, personas.trainee, clock.now, 4, 30, third["state"])["credited"] == 30
    clock.now += timedelta(seconds=10)
    due = beat(session, personas.trainee, clock.now, 5, 40, third["state"])
    assert due["face_check"] is not None and "state" not in due
    assert StudySession.objects.get(pk=session.pk).face_due_at is not None


def test_a_state_is_no_credential(personas, lesson, faces, clock):
    """Another session's or a forged state is ignored (the row is read); the token still
    decides whose session it is."""
    session = started(personas.trainee, lesson, personas.inst_a)
    other_trainee = make_trainee(personas.inst_a, name="王五")
    other = started(other_trainee, lesson, personas.inst_a)
    theirs = beat(other, other_trainee, clock.now, 1, 0)["state"]
    beat(session, personas.trainee, clock.now, 1, 0)
    clock.now += timedelta(seconds=10)
    for seq, state in ((2, theirs), (3, "zp1$aes$k$AAAA")):
        clock.now += timedelta(seconds=10)
        with CaptureQueriesContext(connection) as queries:
            answer = beat(session, personas.trainee, clock.now, seq, 10 * seq, state)
        assert _statements(queries) == ["SELECT", "UPDATE"]
        assert answer["status"] == "active"
    with pytest.raises(services.StudyError) as exc:
        services.heartbeat_record(
            session_id=other.pk,
            user_id=personas.trainee.pk,
            trainee_id=personas.trainee.trainee_profile.pk,
            beat=services.HeartbeatInput(2, 10, 1, True, True, True, True),
            now=clock.now,
            sealed=theirs,
        )
    assert exc.value.code == "SESSION_NOT_FOUND"
    assert StudySession.objects.get(pk=other.pk).ledger["last_seq"] == 1


def test_a_write_in_between_sends_the_heartbeat_down_the_locked_path(
    personas, lesson, faces, clock, monkeypatch
):
    session = started(personas.trainee, lesson, personas.inst_a)
    beat(session, personas.trainee, clock.now, 1, 0)
    real_policy_for = services.policy_for
    raced = []

    def policy_for_with_a_race(institution):
        # Runs between the fast path's read and its write: another request writes the row.
        if not raced:
            raced.append(True)
            StudySession.objects.filter(pk=session.pk).update(version=F("version") + 1)
        return real_policy_for(institution)

    real_locked, locked = services._locked, []

    def spied_locked(*args, **kwargs):
        locked.append(args)
        return real_locked(*args, **kwargs)

    monkeypatch.setattr(services, "policy_for", policy_for_with_a_race)
    monkeypatch.setattr(services, "_locked", spied_locked)
    clock.now += timedelta(seconds=10)
    answer = beat(session, personas.trainee, clock.now, 2, 10)
    assert raced and locked and answer["credited"] == 10
    fresh = StudySession.objects.get(pk=session.pk)
    assert fresh.credited_seconds == 10 and fresh.ledger["last_seq"] == 2


def test_tokens_without_a_trainee_id_and_other_trainees_tokens(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    old = session_token(session_id=session.pk, user_id=personas.trainee.pk)
    claims = read_session_token(old)
    assert claims is not None and claims.trainee_id is None  # issued before trainee ids
    answer = services.heartbeat_record(
        session_id=session.pk,
        user_id=personas.trainee.pk,
        trainee_id=None,
        beat=services.HeartbeatInput(1, 0, 1, True, True, True, True),
        now=clock.now,
    )
    assert answer["status"] == "active"
    other = make_trainee(personas.inst_a, name="王五")
    for user_id, trainee_id in (
        (other.pk, other.trainee_profile.pk),
        (personas.trainee.pk, other.trainee_profile.pk),
        (other.pk, None),
    ):
        with pytest.raises(services.StudyError) as exc:
            services.heartbeat_record(
                session_id=session.pk,
                user_id=user_id,
                trainee_id=trainee_id,
                beat=services.HeartbeatInput(2, 1, 1, True, True, True, True),
                now=clock.now,
            )
        assert exc.value.code == "SESSION_NOT_FOUND"


def test_every_save_bumps_the_version(personas, lesson, faces):
    session = started(personas.trainee, lesson, personas.inst_a)
    version = StudySession.objects.get(pk=session.pk).version
    session.save(update_fields=["device"])
    session.save()
    assert StudySession.objects.get(pk=session.pk).version == version + 2 == session.version


def test_ledger_state_json_is_its_dataclass():
    state = ledger.State(duration=600.0, last_seq=3, last_at=12.5, furthest=4.0, credited=4.0)
    state.pending.append(ledger.Run(start_at=8.5, end_at=12.5, from_pos=0.0, to_pos=4.0))
    assert state.to_json() == asdict(state)
    assert ledger.State.from_json(json.loads(json.dumps(state.to_json()))) == state


# --- the fast path and the locked path give the same outcome -----------------------------------

mostly = st.sampled_from([True, True, True, True, False])
heartbeat = st.tuples(
    st.just("beat"),
    # Seconds since the previous step, in whole milliseconds (the clock has microseconds).
    (st.integers(5000, 15000) | st.integers(0, 45000)).map(lambda ms: ms / 1000),
    st.sampled_from(["play", "play", "play", "play", "play", "seek", "back", "stall"]),
    st.sampled_from([1.0, 1.0, 1.0, 1.0, 2.0]),
    mostly,  # visible and focused
    mostly,  # playing
    mostly,  # interacted
    st.sampled_from([1, 1, 1, 1, 0]),  # seq step (0: a duplicate)
    # The sealed row sent back: the last answer's, none, or an older answer's (a replay).
    st.sampled_from(["last", "last", "last", "none", "older"]),
)
# Mostly heartbeats, so that long stretches take the fast path between the events.
step = st.one_of(
    heartbeat,
    heartbeat,
    heartbeat,
    heartbeat,
    st.tuples(st.just("face"), st.booleans()),
    st.tuples(st.just("answer"), st.booleans()),
    st.tuples(st.just("activity")),
)


@pytest.fixture
def short_rules(settings):
    """Idle stops, face checks and questions within the examples' few minutes."""
    settings.STUDY_IDLE_MINUTES = 1
    settings.STUDY_IDLE_RESPONSE_SECONDS = 30
    settings.STUDY_FACE_CHECK_MIN_MINUTES = settings.STUDY_FACE_CHECK_MAX_MINUTES = 2
    settings.STUDY_QUIZ_MIN_MINUTES = settings.STUDY_QUIZ_MAX_MINUTES = 3


def _rows(session: StudySession) -> dict[str, Any]:
    session.refresh_from_db()
    fields = ("status", "end_reason", "credited_seconds", "confirmed_seconds", "ledger")
    times = ("last_activity_at", "last_beat_at", "face_due_at", "next_face_at", "next_quiz_at")
    return {
        **{f: getattr(session, f) for f in fields + times},
        "face_failures": session.face_failures,
        "uncredited": list(
            session.uncredited.order_by("id").values_list(
                "started_at", "ended_at", "seconds", "reason"
            )
        ),
        "segments": list(
            session.segments.order_by("id").values_list("started_at", "ended_at", "seconds")
        ),
        "answers": list(session.quiz_answers.order_by("id").values_list("outcome", flat=True)),
    }


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    quiz = answer.get("quiz")
    answer = {k: v for k, v in answer.items() if k != "state"}  # only the fast path seals one
    return answer | {"quiz": quiz and {k: v for k, v in quiz.items() if k != "id"}}


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=60))
def test_the_fast_path_changes_nothing_the_locked_path_would_not(
    personas, lesson, faces, clock, monkeypatch, short_rules, steps
):
    # A lesson of its own per example: no progress from an earlier one to resume from.
    lesson = Lesson.objects.create(
        chapter=lesson.chapter, title="第二讲", duration_seconds=3600, video="lessons/x.mp4"
    )
    LessonQuestion.objects.create(lesson=lesson, text="？", options=["对", "错"], answer=0)
    if not hasattr(personas, "twin"):
        personas.twin = make_trainee(personas.inst_a, name="李四")
    used_fast = []

    def counted(*args):
        answer = FAST_PATH(*args)
        used_fast.append(answer is not None)
        return answer

    fast_trainee, locked_trainee = personas.trainee, personas.twin
    fast = started(fast_trainee, lesson, personas.inst_a)
    locked = started(locked_trainee, lesson, personas.inst_a)
    for session, trainee in ((fast, fast_trainee), (locked, locked_trainee)):
        beat(session, trainee, clock.now, 1, 0.0)  # the baseline: playing from here on
    seqs = {fast.pk: 1, locked.pk: 1}
    sealed: list[str] = []  # the fast session's answers' sealed rows, oldest first
    position = 0.0
    for item in steps:
        kind = item[0]
        if kind == "beat":
            moved = {"seek": 120.0, "back": -30.0, "stall": 0.0}.get(item[2], item[1])
            position = max(0.0, position + moved)
        outcomes = []
        for session, trainee in ((fast, fast_trainee), (locked, locked_trainee)):
            if trainee is fast_trainee:
                monkeypatch.setattr(services, "_heartbeat_fast", counted)
            else:
                monkeypatch.setattr(services, "_heartbeat_fast", lambda *args: None)
            profile = trainee.trainee_profile
            try:
                if kind == "beat":
                    _, dt, _, rate, shown, playing, interacted, seq_step, send = item
                    seqs[session.pk] += seq_step
                    state = None
                    if sealed and trainee is fast_trainee and send != "none":
                        state = sealed[-1] if send == "last" else sealed[0]
                    outcome: Any = beat(
                        session,
                        trainee,
                        clock.now + timedelta(seconds=dt),
                        seqs[session.pk],
                        position,
                        state,
                        rate=rate,
                        visible=shown,
                        focused=shown,
                        playing=playing,
                        interacted=interacted,
                    )
                elif kind == "face":
                    faces.append(item[1])
                    outcome = services.study_face_check(
                        session_id=session.pk, trainee=profile, frames=[]
                    )[0].status
                elif kind == "answer":
                    quiz = StudySession.objects.get(pk=session.pk).quiz_id
                    outcome = quiz and services.quiz_answer(
                        session_id=session.pk,
                        trainee=profile,
                        quiz_id=quiz,
                        choice=0 if item[1] else 1,
                    )
                else:
                    outcome = services.study_activity(session_id=session.pk, trainee=profile)
            except services.StudyError as exc:
                outcome = exc.code
            if isinstance(outcome, dict) and outcome.get("state"):
                sealed.append(outcome["state"])
            outcomes.append(_without_ids(outcome) if isinstance(outcome, dict) else outcome)
        assert outcomes[0] == outcomes[1], item
        if kind == "beat":
            clock.now += timedelta(seconds=item[1])
    fast_rows, locked_rows = _rows(fast), _rows(locked)
    assert fast_rows == locked_rows
    services.study_session_end(session_id=fast.pk, trainee=fast_trainee.trainee_profile)
    services.study_session_end(session_id=locked.pk, trainee=locked_trainee.trainee_profile)
    assert _rows(fast) == _rows(locked)


def test_a_verified_token_still_expires(settings):
    token = session_token(session_id=7, user_id=8, trainee_id=9)
    assert read_session_token(token) == (7, 8, 9)
    assert read_session_token(token) == (7, 8, 9)  # the second time from the verified tokens
    settings.STUDY_TOKEN_SECONDS = -1
    assert read_session_token(token) is None
    assert read_session_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="health checks are for PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_read_is_the_health_check(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    beat(session, personas.trainee, clock.now, 1, 0)
    # A new request on a persistent connection that died meanwhile (a database restart).
    connection.ensure_connection()
    connection.health_check_enabled, connection.health_check_done = True, False
    dead = connection.connection
    dead.close()
    clock.now += timedelta(seconds=10)
    with CaptureQueriesContext(connection) as queries:
        answer = beat(session, personas.trainee, clock.now, 2, 10)
    assert answer["credited"] == 10
    # The read failed on the dead connection and was made again on a new one; no SELECT 1.
    assert connection.connection is not dead
    assert _statements(queries) == ["SELECT", "UPDATE"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="health checks are for PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_sealed_heartbeat_write_is_the_health_check(personas, lesson, faces, clock):
    session = started(personas.trainee, lesson, personas.inst_a)
    state = beat(session, personas.trainee, clock.now, 1, 0)["state"]
    connection.ensure_connection()
    connection.health_check_enabled, connection.health_check_done = True, False
    dead = connection.connection
    dead.close()
    clock.now += timedelta(seconds=10)
    with CaptureQueriesContext(connection) as queries:
        answer = beat(session, personas.trainee, clock.now, 2, 10, state)
    assert answer["credited"] == 10 and answer["state"]
    # The write failed on the dead connection and was made again on a new one; no SELECT 1.
    assert connection.connection is not dead
    assert _statements(queries) == ["UPDATE"]
