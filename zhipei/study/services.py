"""Supervised study: starting a session, heartbeats through the ledger, face re-checks, pop-up
questions, the idle stop and the end of a session. Every call holds the session's row lock, or
(the heartbeat's fast path) writes the row only if no one wrote it since it was read, so the
heartbeats of one session are applied one at a time, each to the state the one before left."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connection, connections, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zhipei.accounts.models import TraineeProfile
from zhipei.audit.services import audit_log
from zhipei.core.crypto import purpose_cipher
from zhipei.courses.models import Lesson, LessonQuestion
from zhipei.faces.models import FaceAttempt, Purpose
from zhipei.faces.services import face_verify
from zhipei.lib.crypto import DecryptionError, FieldCipher
from zhipei.study import ledger
from zhipei.study.models import (
    LessonProgress,
    QuizAnswer,
    StudySegment,
    StudySession,
    UncreditedInterval,
)
from zhipei.study.policy import Policy, policy_for

if TYPE_CHECKING:
    from zhipei.institutions.models import Institution

_rng = random.SystemRandom()
_T = TypeVar("_T")
HEARTBEAT_FIELDS = [
    "ledger",
    "credited_seconds",
    "last_activity_at",
    "last_beat_at",
    "face_due_at",
    "face_failures",
    "status",
    "next_face_at",
    "next_quiz_at",
    "quiz",
    "open_interval",
]
MERGE_GAP = 30.0  # seconds between two stretches of the same reason that still make one row


class StudyError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _local_midnight(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# --- start ------------------------------------------------------------------------------------


def study_session_start(
    *,
    trainee: TraineeProfile,
    lesson: Lesson,
    institution: Institution,
    device: str,
    user_agent: str = "",
    request: HttpRequest | None = None,
) -> StudySession:
    """A new session on ``device``; any other active session of the trainee ends (one device at
    a time). Time counts only after the start face check (``study_face_check``)."""
    if not lesson.media or lesson.duration_seconds <= 0:
        raise StudyError("LESSON_NOT_READY", _("该课时暂无可学习的内容"), status=409)
    now = timezone.now()
    with transaction.atomic():
        # The trainee's row is the lock that makes "one session at a time" hold under races: two
        # starts at the same moment would otherwise each see no other session.
        TraineeProfile.objects.select_for_update().filter(pk=trainee.pk).first()
        others = StudySession.objects.select_for_update(of=("self",)).filter(
            trainee=trainee,
            status__in=[StudySession.Status.AWAITING_FACE, StudySession.Status.ACTIVE],
        )
        for other in others:
            _finish(other, StudySession.EndReason.CONCURRENT, now)
        progress, _created = LessonProgress.objects.get_or_create(trainee=trainee, lesson=lesson)
        state = ledger.State(
            duration=float(lesson.duration_seconds),
            furthest=progress.furthest_position,
            last_position=progress.furthest_position,
        )
        earlier = (
            StudySession.objects.filter(
                trainee=trainee, started_at__gte=_local_midnight(now)
            ).aggregate(s=Sum("confirmed_seconds"))["s"]
            or 0.0
        )
        session = StudySession.objects.create(
            trainee=trainee,
            lesson=lesson,
            institution=institution,
            device=device[:64],
            user_agent=user_agent[:200],
            started_at=now,
            ledger=state.to_json(),
            last_activity_at=now,
            daily_base_seconds=earlier,
        )
        audit_log(
            action="study.start",
            actor=trainee.user,
            request=request,
            target=session,
            institution_id=institution.pk,
            detail={"lesson": lesson.pk},
        )
    return session


# --- heartbeats -------------------------------------------------------------------------------


@dataclass
class HeartbeatInput:
    seq: int
    position: float
    rate: float
    visible: bool
    focused: bool
    playing: bool
    interacted: bool

    def at(self, moment: float) -> ledger.Beat:
        """The ledger's view of this heartbeat, received at ``moment`` (server epoch seconds)."""
        return ledger.Beat(
            self.seq, moment, self.position, self.rate, self.visible, self.focused, self.playing
        )


def heartbeat_record(
    *,
    session_id: int,
    user_id: int,
    beat: HeartbeatInput,
    now: datetime | None = None,
    trainee_id: int | None = None,
    sealed: str | None = None,
) -> dict[str, Any]:
    """Apply one heartbeat; returns what the player must do next (pause, face check, question).

    ``user_id`` and ``trainee_id`` are the trainee's user and profile (from the session's signed
    token); ``sealed`` is what the previous answer carried as ``state``, if anything. The
    common heartbeat (an active session, nothing falling due) takes the fast path: one
    conditional write, and a read of the row unless ``sealed`` is still current. Everything
    else, a fast path that lost a race, and a token without ``trainee_id`` run here, under the
    row lock."""
    now = now or timezone.now()
    if trainee_id is not None:
        answer = _heartbeat_fast(session_id, trainee_id, beat, now, sealed)
        if answer is not None:
            return answer
    with transaction.atomic():
        session = _locked(session_id, user_id=user_id, trainee_id=trainee_id)
        if session.status == StudySession.Status.ENDED:
            return _answer(session, now)
        state = ledger.State.from_json(session.ledger)
        if beat.position > state.duration + 5:
            raise StudyError("IMPOSSIBLE_POSITION", _("播放位置超出视频时长"))
        policy = policy_for(session.institution_id)
        if beat.interacted:
            session.last_activity_at = now
        if _due_events(session, state, policy, now):
            return _answer(session, now, policy, state)  # ended; _end wrote the row
        step = ledger.apply(
            state,
            beat.at(_epoch(now)),
            policy.rules,
            blocked=_blocked_reason(session, state, policy, now),
        )
        if step.accepted:
            session.last_beat_at = now
            for start, end, reason in step.uncredited:
                _uncredit(session, start, end, reason)
            if step.closed is not None:
                short = ledger.drop_short_run(state, step.closed, policy.rules)
                if short:
                    _uncredit(
                        session,
                        step.closed.start_at,
                        step.closed.end_at,
                        ledger.SHORT_SEGMENT,
                        short,
                    )
            if session.daily_base_seconds + state.credited >= policy.daily_cap_seconds:
                _end(session, StudySession.EndReason.DAILY_CAP, now, confirm=True, state=state)
                return _answer(session, now, policy, state)
        session.ledger = state.to_json()
        session.credited_seconds = session.confirmed_seconds + sum(r.seconds for r in state.pending)
        # Only what a heartbeat can change: the row is written on every heartbeat.
        session.save(update_fields=HEARTBEAT_FIELDS)
        return _answer(session, now, policy, state)


# The fast path's statements, written out: building them with the ORM cost more CPU than all the
# rest of a heartbeat.
_FAST_READ = (
    "SELECT s.status, s.ledger, s.last_activity_at, s.last_beat_at, s.face_due_at,"
    " s.next_face_at, s.next_quiz_at, s.quiz_id, s.daily_base_seconds, s.confirmed_seconds,"
    " s.institution_id, s.version, s.open_interval_id, u.reason, u.ended_at, u.seconds"
    " FROM study_studysession s"
    " LEFT JOIN study_uncreditedinterval u ON u.id = s.open_interval_id"
    " WHERE s.id = %s AND s.trainee_id = %s"
)
_FAST_WRITE = (
    "UPDATE study_studysession SET ledger = %s, credited_seconds = %s, last_activity_at = %s,"
    " last_beat_at = %s, open_interval_id = %s, version = version + 1"
    " WHERE id = %s AND version = %s"
)
_FAST_MERGE = "UPDATE study_uncreditedinterval SET ended_at = %s, seconds = %s WHERE id = %s"
# PostgreSQL, with STUDY_HEARTBEAT_ASYNC_COMMIT: the same write, committed without waiting for
# the WAL flush. set_config(..., true) holds for the statement's own transaction, so nothing else
# on the connection is affected; it runs only when the row matched (it follows the version test).
# A database crash can lose the last such writes, never reorder them: a later synchronous commit
# (a face check, an end) flushes them first. A lost write leaves the row as it was before; the
# next heartbeat's sealed row no longer matches it, the row is read, and the ledger counts the
# time since the last kept heartbeat as it counts any gap: at most the wall clock, never twice.
_FAST_WRITE_ASYNC = _FAST_WRITE + " AND set_config('synchronous_commit', 'off', true) = 'off'"


class _RowChanged(Exception):
    """The session row changed since the fast path read it: roll back, take the locked path."""


def _aware(value: datetime | None) -> datetime | None:
    """A datetime as the ORM would give it (SQLite's raw rows are naive UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _fast_read(session_id: int, trainee_id: int) -> tuple[Any, ...] | None:
    """The session row, if it is the trainee's, and its open interval (no lock)."""

    def read() -> tuple[Any, ...] | None:
        with connection.cursor() as cursor:
            cursor.execute(_FAST_READ, [session_id, trainee_id])
            return cursor.fetchone()

    return _as_health_check(read)


def _as_health_check(statement: Callable[[], _T]) -> _T:
    """Runs ``statement`` (the request's first) as the connection's health check.

    With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before a request's first query on a
    persistent connection: a round trip per heartbeat. The fast path's first statement is that
    check instead: if it fails on a reused connection, the connection is closed and the
    statement made again on a new one, as the health check would have done. (A write that
    reached the database before the connection died finds the version moved on, the second
    time: the fast path then reads the row again.)"""
    # The connection itself, not the proxy (every attribute of which is a thread-local lookup);
    # health_check_* are Django's, not in its type stubs.
    db: Any = connections[DEFAULT_DB_ALIAS]
    if (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
    ):
        db.health_check_done = True
        try:
            return statement()
        except Error:
            db.close()
    return statement()


def _heartbeat_fast(
    session_id: int,
    trainee_id: int,
    beat: HeartbeatInput,
    now: datetime,
    sealed: str | None = None,
) -> dict[str, Any] | None:
    """The common heartbeat, without the ORM and without a lock: an active session with nothing
    falling due (no face check, no question, no idle stop, no daily cap, no too-short segment to
    take back). Such a heartbeat changes only the ledger, the credit and two times of its
    session row, and records its uncredited part (network jitter, a paused or hidden player) as
    ``_uncredit`` would: merged into the open interval, or as a new one.

    The row is the one the previous heartbeat left, sealed in its answer (``sealed``, see
    ``_seal_row``), or else read without a lock; it is written only if its ``version`` is still
    the one it had (every other write bumps it; the open interval changes only with its session
    row), so what is written is exactly what the locked path would write. A sealed row that is no
    longer current is read again. Returns None, with nothing written, whenever anything else may
    happen or the row changed in between: the caller then runs the locked path."""
    row = _open_row(sealed, session_id, trainee_id) if sealed else None
    if row is not None:
        answer = _fast_step(session_id, trainee_id, row, beat, now)
        if answer is not _CHANGED:
            return answer  # type: ignore[return-value]
    row = _fast_read(session_id, trainee_id)
    if row is None:
        return None
    answer = _fast_step(session_id, trainee_id, row, beat, now)
    return None if answer is _CHANGED else answer  # type: ignore[return-value]


_CHANGED = object()  # the fast path's write found the row changed since it was read


def _fast_step(
    session_id: int, trainee_id: int, row: tuple[Any, ...], beat: HeartbeatInput, now: datetime
) -> dict[str, Any] | None | object:
    """The fast path on ``row`` (as ``_FAST_READ`` gives it): the answer; None when the locked
    path must decide; ``_CHANGED`` when the row was no longer ``row`` (nothing written)."""
    (
        status,
        ledger_json,
        last_activity_at,
        last_beat_at,
        face_due_at,
        next_face_at,
        next_quiz_at,
        quiz_id,
        daily_base,
        confirmed,
        institution_id,
        version,
        open_id,
        open_reason,
        open_ended_at,
        open_seconds,
    ) = row
    # What _due_events and _blocked_reason would act on: the locked path's business.
    if status != StudySession.Status.ACTIVE or face_due_at is not None or quiz_id is not None:
        return None
    next_face_at, next_quiz_at = _aware(next_face_at), _aware(next_quiz_at)
    if (next_face_at is not None and now >= next_face_at) or (
        next_quiz_at is not None and now >= next_quiz_at
    ):
        return None
    policy = policy_for(institution_id)
    last_activity_at = now if beat.interacted else _aware(last_activity_at)
    assert last_activity_at is not None  # noqa: S101 - the column is not nullable
    idle_for = (now - last_activity_at).total_seconds()
    if idle_for > policy.idle_seconds + policy.idle_response_seconds:
        return None
    state = ledger.State.from_json(
        json.loads(ledger_json) if isinstance(ledger_json, str | bytes) else ledger_json
    )
    if beat.position > state.duration + 5 or (
        daily_base + state.credited >= policy.daily_cap_seconds
    ):
        return None
    step = ledger.apply(
        state,
        beat.at(_epoch(now)),
        policy.rules,
    )
    if step.closed is not None and ledger.drop_short_run(state, step.closed, policy.rules):
        return None
    if step.accepted and daily_base + state.credited >= policy.daily_cap_seconds:
        return None
    # The uncredited part, as _uncredit records it (there is at most one).
    merge: list[Any] | None = None  # the open interval's new end and seconds, and its id
    new: UncreditedInterval | None = None
    for start, end, reason in step.uncredited:
        seconds = end - start
        if seconds <= ledger.EPSILON:
            continue
        if merge is not None or new is not None:
            return None
        started, ended = _moment(start), _moment(end)
        last_end = _aware(open_ended_at)  # None: no open interval
        if (
            last_end is not None
            and open_reason == reason
            and (started - last_end).total_seconds() <= MERGE_GAP
        ):
            merge = [max(last_end, ended), open_seconds + seconds, open_id]
        else:
            new = UncreditedInterval(
                session_id=session_id,
                started_at=started,
                ended_at=ended,
                seconds=seconds,
                reason=reason,
            )
    credited = confirmed + sum(r.seconds for r in state.pending)
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: a thread-local lookup per attribute
    adapt = db.ops.adapt_datetimefield_value
    written = json.dumps(state.to_json())
    last_beat_at = now if step.accepted else _aware(last_beat_at)
    # The open interval as the row will have it.
    opened = [open_id, open_reason, _aware(open_ended_at), open_seconds]
    write = [
        written,
        credited,
        adapt(last_activity_at),
        adapt(last_beat_at),
        open_id,
        session_id,
        version,
    ]

    statement = (
        _FAST_WRITE_ASYNC
        if db.vendor == "postgresql" and settings.STUDY_HEARTBEAT_ASYNC_COMMIT
        else _FAST_WRITE
    )

    def write_row() -> int:
        with db.cursor() as cursor:
            cursor.execute(statement, write)
            return cursor.rowcount

    if merge is None and new is None:
        # With a sealed row this is the request's first statement: the health check too.
        if _as_health_check(write_row) != 1:
            return _CHANGED
    else:
        try:
            with transaction.atomic():
                if new is not None:
                    new.save(force_insert=True)
                    write[4] = new.pk
                    opened = [new.pk, new.reason, new.ended_at, new.seconds]
                if write_row() != 1:
                    raise _RowChanged
                if merge is not None:
                    opened[2:] = merge[:2]
                    with db.cursor() as cursor:
                        cursor.execute(_FAST_MERGE, [adapt(merge[0]), *merge[1:]])
        except _RowChanged:
            return _CHANGED  # rolled back: nothing written
    # The row as it now is (only the version and what was just written changed), for the
    # player to send back with its next heartbeat.
    row = (
        status,
        written,
        last_activity_at,
        last_beat_at,
        None,
        next_face_at,
        next_quiz_at,
        None,
        daily_base,
        confirmed,
        institution_id,
        version + 1,
        *opened,
    )
    answer: dict[str, Any] = {
        "ok": True,
        "status": status,
        "end_reason": "",
        "end_message": "",
        "credited": round(credited, 1),
        "confirmed": round(confirmed, 1),
        "furthest": round(state.furthest, 2),
        "duration": state.duration,
        "heartbeat_seconds": policy.heartbeat_seconds,
        "face_check": None,
        "quiz": None,
        "idle_prompt": _idle_prompt(idle_for, policy),
        "pause": False,
    }
    sealed = _seal_row(session_id, trainee_id, row)
    if len(sealed) <= STATE_MAX_CHARS:
        answer["state"] = sealed
    return answer


# The fast path's row, sealed: the heartbeat's answer carries the session row it left, encrypted
# and authenticated with the field keys, and the player sends it back with the next heartbeat,
# which then needs no read. It is only ever a copy: the write is conditional on the version it
# holds, so a stale, replayed or another session's row is never acted on (it fails to open or
# its write finds another version, and the row is read). Encrypted, not just signed: it holds
# when the next face check and question fall due.
_STATE_CONTEXT = "study.heartbeat.row.v1:%d"
# Sealed rows above this are not sent (the player then sends none and the row is read): a
# ledger with many pending runs must not push a heartbeat over HEARTBEAT_MAX_BYTES.
STATE_MAX_CHARS = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_TIMES = (2, 3, 4, 5, 6, 14)  # the datetime columns of _FAST_READ


def _seal_row(session_id: int, trainee_id: int, row: tuple[Any, ...]) -> str:
    """``row`` with its ledger as JSON text (as written): the other columns as a JSON list, a
    line break, the ledger's text as it is (compact JSON has no line breaks)."""
    values: list[Any] = [trainee_id, *row]
    values[2] = None
    for i in _TIMES:
        moment = _aware(row[i])
        values[i + 1] = None if moment is None else (moment - _EPOCH) // _MICROSECOND
    payload = f"{json.dumps(values, separators=(',', ':'))}\n{row[1]}"
    return _row_cipher().encrypt(payload, context=_STATE_CONTEXT % session_id)


def _row_cipher() -> FieldCipher:
    """The sealed rows' cipher: keys of their own, derived from the field keys for the UTC day.
    Sealed rows are made at heartbeat rate (thousands a second), each with a random 96-bit
    nonce; a key of their own keeps that count off the keys of personal data, and a new key each
    day keeps it far below the 2^32 encryptions per key that random GCM nonces allow. A row
    sealed before midnight no longer opens after it: that heartbeat reads the row."""
    return purpose_cipher(f"zhipei study heartbeat row {timezone.now().date().isoformat()}")


def _open_row(sealed: str, session_id: int, trainee_id: int) -> tuple[Any, ...] | None:
    """The row ``_seal_row`` sealed for this session and trainee (its ledger as JSON text), or
    None."""
    try:
        columns, ledger_text = (
            _row_cipher().decrypt(sealed, context=_STATE_CONTEXT % session_id).split("\n", 1)
        )
        values = json.loads(columns)
    except (DecryptionError, ValueError):
        return None  # not ours, tampered with, or sealed with a retired key
    if values[0] != trainee_id:
        return None
    values[2] = ledger_text
    for i in _TIMES:
        if values[i + 1] is not None:
            values[i + 1] = _EPOCH + values[i + 1] * _MICROSECOND
    return tuple(values[1:])


def _locked(
    session_id: int,
    trainee: TraineeProfile | None = None,
    *,
    user_id: int | None = None,
    trainee_id: int | None = None,
) -> StudySession:
    """The session row, locked (its own row only: lesson and institution rows are shared by every
    learner), if it belongs to ``trainee``, or to ``user_id`` (and ``trainee_id`` when given)."""
    owner: dict[str, Any] = (
        {"trainee": trainee} if trainee is not None else {"trainee__user_id": user_id}
    )
    if trainee_id is not None:
        owner["trainee_id"] = trainee_id
    try:
        return StudySession.objects.select_for_update(of=("self",)).get(pk=session_id, **owner)
    except StudySession.DoesNotExist:
        raise StudyError("SESSION_NOT_FOUND", _("学习会话不存在"), status=404) from None


def _blocked_reason(
    session: StudySession, state: ledger.State, policy: Policy, now: datetime
) -> str | None:
    if session.status == StudySession.Status.AWAITING_FACE:
        return ledger.FACE_PENDING
    if session.quiz_id is not None:
        quiz = session.quiz
        return ledger.QUIZ_TIMEOUT if quiz is not None and now > quiz.deadline else ledger.QUIZ
    if session.daily_base_seconds + state.credited >= policy.daily_cap_seconds:
        return ledger.DAILY_CAP
    return None


def _due_events(session: StudySession, state: ledger.State, policy: Policy, now: datetime) -> bool:
    """Face checks, questions and the idle stop that fall due; True when the session ended."""
    # Idle: no interaction for the limit shows the prompt; no answer ends the session, and the
    # credit earned after the last interaction is taken back.
    idle_for = (now - session.last_activity_at).total_seconds()
    if idle_for > policy.idle_seconds + policy.idle_response_seconds:
        _void(session, state, ledger.IDLE, moment=_epoch(session.last_activity_at))
        _end(session, StudySession.EndReason.IDLE, now, confirm=True, state=state)
        return True
    if session.status != StudySession.Status.ACTIVE:
        return False
    # A face re-check that was not answered in time counts as a failure.
    if session.face_due_at is not None and now > session.face_due_at:
        return _face_failed(session, state, policy, now)
    if (
        session.face_due_at is None
        and session.next_face_at is not None
        and now >= session.next_face_at
    ):
        session.face_due_at = now + timedelta(seconds=policy.face_response_seconds)
    quiz = session.quiz
    if quiz is not None and now > quiz.deadline and quiz.outcome == QuizAnswer.Outcome.PENDING:
        quiz.outcome = QuizAnswer.Outcome.TIMEOUT
        quiz.save(update_fields=["outcome"])
        _after_wrong_answer(session, state, policy, now)
    elif quiz is None and session.next_quiz_at is not None and now >= session.next_quiz_at:
        _ask(session, now, policy)
    return False


def _ask(session: StudySession, now: datetime, policy: Policy) -> None:
    ids = list(LessonQuestion.objects.filter(lesson=session.lesson).values_list("id", flat=True))
    if not ids:
        session.next_quiz_at = None
        return
    session.quiz = QuizAnswer.objects.create(
        session=session,
        question_id=_rng.choice(ids),
        asked_at=now,
        deadline=now + timedelta(seconds=policy.quiz_seconds),
    )
    session.next_quiz_at = None


def _after_wrong_answer(
    session: StudySession, state: ledger.State, policy: Policy, now: datetime
) -> None:
    """The institution's policy for a wrong or missing answer: ask another question (default),
    ask the same question again until it is answered right (pause), or rewind.

    Whatever the policy, several wrong or missing answers in a row look like guessing (a bot):
    the unconfirmed time is voided and a face check is due at once."""
    previous = session.quiz
    recent = list(
        QuizAnswer.objects.filter(session=session)
        .order_by("-asked_at", "-id")
        .values_list("outcome", flat=True)[: settings.STUDY_QUIZ_MAX_WRONG]
    )
    if len(recent) == settings.STUDY_QUIZ_MAX_WRONG and all(
        o in (QuizAnswer.Outcome.WRONG, QuizAnswer.Outcome.TIMEOUT) for o in recent
    ):
        _void(session, state, ledger.QUIZ_TIMEOUT)
        if session.status == StudySession.Status.ACTIVE:
            session.face_due_at = now + timedelta(seconds=policy.face_response_seconds)
    if policy.quiz_wrong_policy == "rewind":
        moment = _epoch(now) - policy.quiz_rewind_seconds
        _void(session, state, ledger.QUIZ_TIMEOUT, moment=moment)
        session.quiz = None
        _schedule_quiz(session, now, policy)
    elif policy.quiz_wrong_policy == "pause" and previous is not None:
        session.quiz = QuizAnswer.objects.create(
            session=session,
            question_id=previous.question_id,
            asked_at=now,
            deadline=now + timedelta(seconds=policy.quiz_seconds),
        )
    else:
        session.quiz = None
        _ask(session, now, policy)


def _schedule_quiz(session: StudySession, now: datetime, policy: Policy) -> None:
    session.next_quiz_at = now + timedelta(
        seconds=_rng.uniform(policy.quiz_min_seconds, policy.quiz_max_seconds)
    )


def _schedule_face(session: StudySession, now: datetime, policy: Policy) -> None:
    session.next_face_at = now + timedelta(
        seconds=_rng.uniform(policy.face_min_seconds, policy.face_max_seconds)
    )
    session.face_due_at = None


def _uncredit(
    session: StudySession, start: float, end: float, reason: str, seconds: float | None = None
) -> None:
    """Record uncredited time. A stretch with the same reason as the previous row, starting
    within the longest heartbeat gap of its end, is merged into it (its seconds added): one row
    per reason change, not per heartbeat, even for sub-second jitter remainders."""
    seconds = seconds if seconds is not None else end - start
    if seconds <= ledger.EPSILON:
        return
    started, ended = _moment(start), _moment(end)
    last = session.open_interval
    if (
        last is not None
        and last.reason == reason
        and (started - last.ended_at).total_seconds() <= MERGE_GAP
    ):
        last.ended_at = max(last.ended_at, ended)
        last.seconds += seconds
        last.save(update_fields=["ended_at", "seconds"])
        return
    session.open_interval = UncreditedInterval.objects.create(
        session=session, started_at=started, ended_at=ended, seconds=seconds, reason=reason
    )


def _void(
    session: StudySession, state: ledger.State, reason: str, *, moment: float | None = None
) -> float:
    """Take back provisional credit (after ``moment``, or all of it) and record it, stamped with
    the time the voided study actually happened."""
    affected = [
        r
        for r in state.pending
        if r.seconds > ledger.EPSILON and (moment is None or r.end_at > moment)
    ]
    voided = ledger.void_after(state, moment)
    if voided and affected:
        start = max(min(r.start_at for r in affected), moment if moment is not None else 0.0)
        _uncredit(session, start, max(r.end_at for r in affected), reason, voided)
    return voided


# --- confirming credit ------------------------------------------------------------------------


def _confirm(session: StudySession, state: ledger.State, policy: Policy) -> None:
    """Provisional runs become segments and lesson progress."""
    runs = ledger.checkpoint(state)
    if not runs:
        return
    StudySegment.objects.bulk_create(
        StudySegment(
            session=session,
            started_at=_moment(r.start_at),
            ended_at=_moment(r.end_at),
            from_position=r.from_pos,
            to_position=r.to_pos,
            seconds=r.seconds,
        )
        for r in runs
    )
    seconds = sum(r.seconds for r in runs)
    session.confirmed_seconds += seconds
    progress = LessonProgress.objects.select_for_update().get(
        trainee=session.trainee, lesson=session.lesson
    )
    progress.credited_seconds += seconds
    progress.furthest_position = max(progress.furthest_position, max(r.to_pos for r in runs))
    if progress.completed_at is None and progress.credited_seconds >= (
        session.lesson.duration_seconds - policy.completion_slack_seconds
    ):
        progress.completed_at = timezone.now()
    progress.save()


def _end(
    session: StudySession,
    reason: str,
    now: datetime,
    *,
    confirm: bool,
    state: ledger.State | None = None,
) -> None:
    state = state or ledger.State.from_json(session.ledger)
    policy = policy_for(session.institution_id)
    if confirm and session.face_passed_at is not None:
        _confirm(session, state, policy)
    else:
        _void(session, state, ledger.FACE_FAIL)
    session.ledger = state.to_json()
    session.credited_seconds = session.confirmed_seconds
    session.status = StudySession.Status.ENDED
    session.end_reason = reason
    session.ended_at = now
    session.quiz = None
    session.save()
    audit_log(
        action="study.end",
        actor=session.trainee.user,
        target=session,
        institution_id=session.institution_id,
        detail={"reason": reason, "credited": round(session.confirmed_seconds, 1)},
    )


def study_session_end(
    *, session_id: int, trainee: TraineeProfile, reason: str = StudySession.EndReason.LEFT
) -> StudySession:
    with transaction.atomic():
        session = _locked(session_id, trainee)
        if session.status != StudySession.Status.ENDED:
            _finish(session, reason, timezone.now())
    return session


def _finish(session: StudySession, reason: str, now: datetime) -> None:
    """End a session from outside a heartbeat (leaving, another device, a silent player).

    What the heartbeats would have applied is applied first: the idle stop, a missed face
    re-check. Credit earned while a re-check is still due is not confirmed: it was never checked.
    """
    policy = policy_for(session.institution_id)
    state = ledger.State.from_json(session.ledger)
    if _due_events(session, state, policy, now):
        return
    if session.face_due_at is not None:
        _void(session, state, ledger.FACE_FAIL)
    if state.open_run and state.pending:
        short = ledger.drop_short_run(state, state.pending[-1], policy.rules)
        if short:
            _uncredit(session, _epoch(now) - short, _epoch(now), ledger.SHORT_SEGMENT, short)
    _end(session, reason, now, confirm=True, state=state)


# --- face checks ------------------------------------------------------------------------------


def _no_challenge(purpose: str) -> str | None:
    return None


def study_face_check(
    *,
    session_id: int,
    trainee: TraineeProfile,
    frames: list[bytes],
    challenge_for: Callable[[str], str | None] = _no_challenge,
    request: HttpRequest | None = None,
) -> tuple[StudySession, FaceAttempt]:
    """The start check, or a re-check. A match confirms the time since the last good check; a
    failure voids it, pauses study, and the third failure in a row ends the session as invalid.

    ``challenge_for(purpose)`` gives the active-liveness challenge issued for that purpose."""
    with transaction.atomic():
        session = _locked(session_id, trainee)
        policy = policy_for(session.institution_id)
        state = ledger.State.from_json(session.ledger)
        # A missed re-check or a due idle stop happens before this check: a late check cannot
        # confirm time that a heartbeat would already have voided.
        ended_before = session.status == StudySession.Status.ENDED
        live = not ended_before and not _due_events(session, state, policy, timezone.now())
        if not ended_before:
            session.ledger = state.to_json()
            session.save()
    if not live:
        raise StudyError("SESSION_ENDED", _("学习会话已结束"), status=409)
    purpose = Purpose.STUDY_START if session.face_passed_at is None else Purpose.STUDY_RECHECK
    # Recognition takes hundreds of milliseconds: not while holding the session's row lock.
    attempt = face_verify(
        trainee=trainee,
        institution=session.institution,
        frames=frames,
        purpose=purpose,
        challenge=challenge_for(purpose),
        context=f"study:{session.pk}",
        request=request,
    )
    with transaction.atomic():
        session = _locked(session_id, trainee)
        if session.status == StudySession.Status.ENDED:
            raise StudyError(
                "SESSION_ENDED", _("学习会话已结束"), status=409
            )  # the attempt stays on record
        now = timezone.now()
        policy = policy_for(session.institution_id)
        state = ledger.State.from_json(session.ledger)
        if attempt.passed:
            _confirm(session, state, policy)
            session.face_passed_at = now
            session.face_failures = 0
            session.status = StudySession.Status.ACTIVE
            session.last_activity_at = now
            _schedule_face(session, now, policy)
            if session.next_quiz_at is None and session.quiz_id is None:
                _schedule_quiz(session, now, policy)
        else:
            _face_failed(session, state, policy, now)
        session.ledger = state.to_json()
        session.credited_seconds = session.confirmed_seconds + sum(r.seconds for r in state.pending)
        session.save()
    return session, attempt


def _face_failed(session: StudySession, state: ledger.State, policy: Policy, now: datetime) -> bool:
    _void(session, state, ledger.FACE_FAIL)
    session.face_failures += 1
    session.face_due_at = None
    if session.face_failures >= policy.face_max_failures:
        _end(session, StudySession.EndReason.FACE_FAILED, now, confirm=False, state=state)
        return True
    # Study pauses until a check passes; the player asks for one at once.
    session.status = StudySession.Status.AWAITING_FACE if session.face_passed_at else session.status
    return False


# --- questions and activity ----------------------------------------------------------------------


def quiz_answer(
    *, session_id: int, trainee: TraineeProfile, quiz_id: int, choice: int
) -> dict[str, Any]:
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id, trainee)
        quiz = session.quiz
        if quiz is None or quiz.pk != quiz_id or quiz.outcome != QuizAnswer.Outcome.PENDING:
            raise StudyError("NO_SUCH_QUESTION", _("该问题已失效"), status=409)
        if not 0 <= choice < len(quiz.question.options):
            raise StudyError("BAD_CHOICE", _("选项不存在"))
        policy = policy_for(session.institution_id)
        state = ledger.State.from_json(session.ledger)
        late = now > quiz.deadline
        quiz.answered_at, quiz.choice = now, choice
        correct = choice == quiz.question.answer and not late
        quiz.outcome = (
            QuizAnswer.Outcome.CORRECT
            if correct
            else QuizAnswer.Outcome.TIMEOUT
            if late
            else QuizAnswer.Outcome.WRONG
        )
        quiz.save(update_fields=["answered_at", "choice", "outcome"])
        session.last_activity_at = now
        if correct:
            session.quiz = None
            _schedule_quiz(session, now, policy)
        else:
            _after_wrong_answer(session, state, policy, now)
        session.ledger = state.to_json()
        session.credited_seconds = session.confirmed_seconds + sum(r.seconds for r in state.pending)
        session.save()
        return _answer(session, now) | {"correct": correct}


def study_activity(*, session_id: int, trainee: TraineeProfile) -> dict[str, Any]:
    """The trainee answered “还在学习吗？”."""
    now = timezone.now()
    with transaction.atomic():
        session = _locked(session_id, trainee)
        if session.status != StudySession.Status.ENDED:
            # Too late is too late: an idle stop that is already due happens first.
            state = ledger.State.from_json(session.ledger)
            if not _due_events(session, state, policy_for(session.institution_id), now):
                session.last_activity_at = now
                session.ledger = state.to_json()
                session.save()
        return _answer(session, now)


# --- the answer to the player ---------------------------------------------------------------------


def _answer(
    session: StudySession,
    now: datetime,
    policy: Policy | None = None,
    state: ledger.State | None = None,
) -> dict[str, Any]:
    policy = policy or policy_for(session.institution_id)
    state = state or ledger.State.from_json(session.ledger)
    answer: dict[str, Any] = {
        "ok": True,
        "status": session.status,
        "end_reason": session.end_reason,
        "end_message": session.get_end_reason_display() if session.end_reason else "",
        "credited": round(session.credited_seconds, 1),
        "confirmed": round(session.confirmed_seconds, 1),
        "furthest": round(state.furthest, 2),
        "duration": state.duration,
        "heartbeat_seconds": policy.heartbeat_seconds,
        "face_check": None,
        "quiz": None,
        "idle_prompt": None,
    }
    if session.status == StudySession.Status.ENDED:
        return answer
    if session.status == StudySession.Status.AWAITING_FACE or session.face_due_at is not None:
        left = (session.face_due_at - now).total_seconds() if session.face_due_at else None
        answer["face_check"] = {
            "seconds_left": round(left) if left is not None else None,
            "failures": session.face_failures,
        }
    quiz = session.quiz
    if quiz is not None:
        answer["quiz"] = {
            "id": quiz.pk,
            "text": quiz.question.text,
            "options": quiz.question.options,
            "seconds_left": max(0, round((quiz.deadline - now).total_seconds())),
        }
    answer["idle_prompt"] = _idle_prompt((now - session.last_activity_at).total_seconds(), policy)
    answer["pause"] = bool(session.status == StudySession.Status.AWAITING_FACE or answer["quiz"])
    return answer


def _idle_prompt(idle_for: float, policy: Policy) -> dict[str, int] | None:
    if idle_for <= policy.idle_seconds:
        return None
    return {
        "seconds_left": max(0, round(policy.idle_seconds + policy.idle_response_seconds - idle_for))
    }


def study_sessions_expire(*, silent_for: timedelta = timedelta(minutes=5)) -> int:
    """End sessions whose player went silent (browser closed without saying so): ``abandoned``.
    Their credit up to the last heartbeat is confirmed if the start check had passed."""
    now = timezone.now()
    cutoff = now - silent_for
    ended = 0
    stale = (
        StudySession.objects.filter(
            status__in=[StudySession.Status.AWAITING_FACE, StudySession.Status.ACTIVE],
            started_at__lt=cutoff,
        )
        .exclude(last_beat_at__gte=cutoff)
        .values_list("pk", flat=True)
    )
    for pk in stale:
        with transaction.atomic():
            session = (
                StudySession.objects.select_for_update(of=("self",))
                .select_related("lesson", "institution")
                .get(pk=pk)
            )
            silent = session.last_beat_at is None or session.last_beat_at < cutoff
            if session.status != StudySession.Status.ENDED and silent:
                _finish(session, StudySession.EndReason.ABANDONED, now)
                ended += 1
    return ended
