"""Study heartbeat capacity under gunicorn + PostgreSQL, against the no-op view, and the rows
that supervised study writes per learner-hour.

Method (one run, one server):

1. Data. The database of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/zhipei_bench,
   created if missing) is migrated; one institution, course, chapter and a 3600 s lesson are
   created, and N trainees, each with an ACTIVE study session started through
   ``study_session_start`` and then marked as past its start face check, with the next face
   check and question a year away (nothing interrupts the heartbeats), and the session's study
   token (the heartbeat's only credential: the player sends no cookie with it).
2. Server. ``gunicorn zhipei.wsgi --worker-class gthread`` on a free port of 127.0.0.1, with
   the same secret and field keys as this process (taken from ZHIPEI_SECRET_KEY,
   ZHIPEI_FIELD_KEYS and ZHIPEI_BLIND_INDEX_KEY when set, generated for the run otherwise:
   pass your own when the database is kept, or its audit chain mixes keys).
3. Heartbeats. Every learner first sends one heartbeat (seq 1, position 0: the ledger's
   baseline); the run aborts unless every one of them answers 200 with ``"status": "active"``.
   Then each learner, on a fresh keep-alive connection of its own (gunicorn closes connections
   idle for 2 s, as the first ones are while later baselines queue), sends heartbeats back to
   back for --seconds (a closed loop: the next one leaves when the previous answer arrives, so
   the rate is the server's capacity, not a real player's 1 per 10 s). The position is the
   time since the learner's baseline heartbeat (playing at 1x), seq counts up, ``interacted``
   is true, and the sealed row of the previous answer (``state``) is sent back, as the player
   does. Heartbeats reach gunicorn's ``zhipei.wsgi``, so the heartbeat lane answers them. The client is raw HTTP/1.1 on asyncio streams, one process, one thread.
4. No-op. The same number of clients GET /livez (no database, no session) for as long.
   Then, as a yardstick, GET /healthz for as long: one ``SELECT 1`` round trip to PostgreSQL
   and a JSON answer, the least any request that touches the database does
   (``roundtrip_to_noop_ratio``: the ceiling of ``heartbeat_to_noop_ratio`` for a heartbeat
   that reads or writes PostgreSQL even once).
5. Rows. Rows in study_studysegment, study_uncreditedinterval, study_quizanswer,
   audit_auditentry and faces_faceattempt are counted before the baseline heartbeats and again
   after every session has been ended with ``study_session_end`` (which confirms the
   provisional credit into segments and writes a ``study.end`` audit entry): inserted rows
   only; updates of the session, progress and Django session rows are not counted.
   ``db_rows_per_study_hour`` = rows added / (learners x seconds / 3600). Each session adds a
   segment and an audit entry when it ends, so that part scales with 1 / --seconds; an
   uncredited interval is added when the ledger sees less progress than server time (STALLED)
   or a jump (SEEK), which the queueing of a saturated server causes: stderr breaks them down.

Measures: ``*_rps`` counts HTTP 200 answers per second of the phase (from its start until the
last request in flight at the deadline has finished). Latency runs from writing the request to
reading the whole answer (the first request of a connection includes connecting); a request
that failed counts too (one that timed out with the timeout as its latency, a lower bound).
``heartbeat_errors`` counts requests without a 200 answer (other statuses, timeouts, dropped
connections). The load client runs on the same machine and competes with gunicorn and
PostgreSQL for the CPU: stderr shows how busy the host and the client were; the heartbeat/no-op
ratio is less sensitive to that than either rate. ``*_server_cpu_ms`` is the CPU time (user and
system) of gunicorn's processes and of PostgreSQL (the backends connected to the bench database
and the cluster's background processes, such as the WAL writer),
per HTTP 200 answer: what one answer costs the server, whatever else the machine is running.

Run: .venv/bin/python bench/heartbeat.py [--learners 500] [--seconds 30] [--workers W]
     [--threads T] [--keep-db]
Only name=value lines go to stdout; progress and diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness lives beside this script
    HOST,
    MAX_REQUESTS_PER_CLIENT,
    ROOT,
    BenchError,
    Gunicorn,
    HttpConnection,
    PhaseStats,
    bench_database,
    check_connection_budget,
    describe,
    log,
    make_learner,
    measured,
    raise_fd_limit,
    report,
    serial_base,
    setup_django,
    timed,
)

sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zhipei_bench"
COUNTED_TABLES = (
    "study_studysegment",
    "study_uncreditedinterval",
    "study_quizanswer",
    "audit_auditentry",
    "faces_faceattempt",
)
PREFLIGHT_CONCURRENCY = 64


# --- database and Django ------------------------------------------------------------------------


@dataclass
class Learner:
    session_id: int
    path: bytes  # the heartbeat URL
    headers: bytes  # the X-Study-Token header line (the player sends no cookie with heartbeats)
    seq: int = 0
    started: float = 0.0  # monotonic time of the baseline heartbeat (position 0)
    state: bytes | None = None  # the sealed row of the last answer, sent back as the player does


def create_learners(count: int) -> list[Learner]:
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from zhipei.core.tests.factories import InstitutionFactory
    from zhipei.courses.models import Chapter, Course, Lesson
    from zhipei.lib.creditcode import make_credit_code
    from zhipei.study.models import StudySession
    from zhipei.study.services import study_session_start

    learners: list[Learner] = []
    with transaction.atomic():
        serial = serial_base()
        institution = InstitutionFactory(
            name=f"基准测试培训学校{serial}",
            credit_code=make_credit_code(f"52331102MJ{serial:07d}"),
            licence_no=f"教民1331102{serial:07d}",
        )
        course = Course.objects.create(
            institution=institution,
            title="心跳基准课程",
            kind=Course.Kind.VOCATIONAL,
            occupation="电工",
            level="五级",
            theory_hours=40,
        )
        chapter = Chapter.objects.create(course=course, title="第一章", position=1)
        lesson = Lesson.objects.create(
            chapter=chapter,
            title="第一课",
            position=1,
            video="lessons/bench.mp4",
            duration_seconds=3600,
        )
        for i in range(count):
            user = make_learner(institution, serial + i)
            from zhipei.study.tokens import session_token

            session = study_session_start(
                trainee=user.trainee_profile,
                lesson=lesson,
                institution=institution,
                device="bench",
                user_agent="zhipei-bench",
            )
            token = session_token(
                session_id=session.pk, user_id=user.pk, trainee_id=user.trainee_profile.pk
            )
            learners.append(
                Learner(
                    session_id=session.pk,
                    path=f"/study/api/sessions/{session.pk}/heartbeat/".encode(),
                    headers=f"X-Study-Token: {token}\r\n".encode(),
                )
            )
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{count} learners")
        # Past the start face check; the next check and question far away.
        now = timezone.now()
        far = now + timedelta(days=365)
        StudySession.objects.filter(pk__in=[x.session_id for x in learners]).update(
            status=StudySession.Status.ACTIVE,
            face_passed_at=now,
            face_due_at=None,
            next_face_at=far,
            next_quiz_at=far,
            last_activity_at=now,
            version=F("version") + 1,
        )
    return learners


def mark_activity(learners: list[Learner]) -> None:
    """Setting up takes a while: the sessions' last interaction is now, not then."""
    from django.db.models import F
    from django.utils import timezone

    from zhipei.study.models import StudySession

    StudySession.objects.filter(pk__in=[x.session_id for x in learners]).update(
        last_activity_at=timezone.now(), version=F("version") + 1
    )


def end_sessions(learners: list[Learner]) -> None:
    from zhipei.study.models import StudySession
    from zhipei.study.services import study_session_end

    sessions = StudySession.objects.filter(pk__in=[x.session_id for x in learners]).select_related(
        "trainee"
    )
    for session in sessions:
        study_session_end(session_id=session.pk, trainee=session.trainee)


def count_rows() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[table] = cursor.fetchone()[0]
    return counts


def study_summary(learners: list[Learner]) -> str:
    """What the ledger made of the heartbeats: credit, and uncredited time by reason."""
    from django.db.models import Count, Sum

    from zhipei.study.models import StudySession, UncreditedInterval

    ids = [x.session_id for x in learners]
    sessions = StudySession.objects.filter(pk__in=ids)
    confirmed = sessions.aggregate(s=Sum("confirmed_seconds"))["s"] or 0.0
    ended = dict(sessions.values_list("end_reason").annotate(n=Count("id")))
    reasons = (
        UncreditedInterval.objects.filter(session_id__in=ids)
        .values_list("reason")
        .annotate(rows=Count("id"), seconds=Sum("seconds"))
    )
    uncredited = ", ".join(f"{r} {n} rows/{s:.0f} s" for r, n, s in reasons) or "none"
    return (
        f"credited {confirmed / 3600:.2f} learner-hours; end reasons {ended}; "
        f"uncredited: {uncredited}"
    )


# --- the server ---------------------------------------------------------------------------------


# --- the load client ----------------------------------------------------------------------------


def heartbeat_request(learner: Learner, position: float) -> bytes:
    """The player's heartbeat (study.js): playing at 1x, visible, focused, interacted, and the
    previous answer's sealed row. Formatted by hand: the client shares the machine's CPU with
    the server, so it spends as little as it can."""
    learner.seq += 1
    state = b',"state":"%s"' % learner.state if learner.state is not None else b""
    body = (
        b'{"seq":%d,"position":%.3f,"rate":1,"visible":true,"focused":true,"playing":true,'
        b'"interacted":true%s}' % (learner.seq, position, state)
    )
    return (
        b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
        b"Accept: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (learner.path, HOST.encode(), learner.headers, len(body), body)
    )


ACTIVE = b'"status": "active"'
STATE = b'"state": "'


def remember_state(learner: Learner, answer: tuple[int, bytes] | None) -> None:
    """Keep the answer's sealed row for the next heartbeat, as the player does (none: none)."""
    learner.state = None
    if answer is not None and answer[0] == 200:
        start = answer[1].find(STATE)
        if start >= 0:
            start += len(STATE)
            learner.state = answer[1][start : answer[1].index(b'"', start)]


async def preflight(learners: list[Learner], conns: list[HttpConnection]) -> None:
    """Each learner's baseline heartbeat; all must be 200 and active, or the run stops here."""
    gate = asyncio.Semaphore(PREFLIGHT_CONCURRENCY)
    stats = PhaseStats()
    failed: list[str] = []

    async def first(learner: Learner, conn: HttpConnection) -> None:
        async with gate:
            learner.started = time.monotonic()
            answer = await timed(conn, heartbeat_request(learner, 0.0), stats)
        remember_state(learner, answer)
        if answer is None:
            failed.append(f"session {learner.session_id}: no answer ({dict(stats.failures)})")
        elif answer[0] != 200 or ACTIVE not in answer[1]:
            text = answer[1][:300].decode("utf-8", "replace")
            failed.append(f"session {learner.session_id}: HTTP {answer[0]} {text}")

    await asyncio.gather(*(first(x, c) for x, c in zip(learners, conns, strict=True)))
    if failed:
        raise BenchError(
            f"{len(failed)} of {len(learners)} first heartbeats were not HTTP 200 with "
            f'"status": "active"; first: {failed[0]}'
        )
    log(f"all {len(learners)} first heartbeats: HTTP 200, active")


async def heartbeat_phase(
    learners: list[Learner], port: int, seconds: float, master: int
) -> PhaseStats:
    # The baselines' connections are closed, the measured loop opens fresh ones: gunicorn drops
    # keep-alive connections idle for 2 s, and early ones idle while later baselines queue.
    first = [HttpConnection(port) for _ in learners]
    try:
        await preflight(learners, first)
    finally:
        for conn in first:
            conn.close()
    stats = PhaseStats()
    conns = [HttpConnection(port) for _ in learners]

    async def learner_loop(learner: Learner, conn: HttpConnection) -> None:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            now = time.monotonic()
            if now >= deadline:
                return
            answer = await timed(conn, heartbeat_request(learner, now - learner.started), stats)
            remember_state(learner, answer)
            if answer is not None and answer[0] == 200 and ACTIVE not in answer[1]:
                stats.not_active += 1

    try:
        with measured(stats, master):
            deadline = time.monotonic() + seconds
            await asyncio.gather(
                *(learner_loop(x, c) for x, c in zip(learners, conns, strict=True))
            )
        return stats
    finally:
        for conn in conns:
            conn.close()


async def get_phase(
    path: str, expect: bytes, clients: int, port: int, seconds: float, master: int
) -> PhaseStats:
    """``clients`` closed loops of GET ``path``; an answer other than ``expect`` is counted."""
    request = b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), HOST.encode())
    stats = PhaseStats()
    conns = [HttpConnection(port) for _ in range(clients)]

    async def client_loop(conn: HttpConnection) -> None:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            answer = await timed(conn, request, stats)
            if answer is not None and answer[0] == 200 and answer[1] != expect:
                stats.not_active += 1

    try:
        with measured(stats, master):
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(client_loop(c) for c in conns))
        return stats
    finally:
        for conn in conns:
            conn.close()


# --- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the bench database (default: drop it)"
    )
    args = parser.parse_args()
    if args.learners < 1 or args.seconds <= 0 or args.workers < 1 or args.threads < 1:
        parser.error("--learners, --seconds, --workers and --threads must be positive")
    return args


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    keep = bool(os.environ.get("DATABASE_URL")) or args.keep_db
    server: Gunicorn | None = None
    try:
        raise_fd_limit(args.learners)
        with bench_database(url, prefix="zhipei-heartbeat-", keep=keep) as data_dir:
            setup_django()
            check_connection_budget(args.workers, args.threads)
            log(f"creating {args.learners} learners with active study sessions")
            learners = create_learners(args.learners)
            server = Gunicorn(args.workers, args.threads, Path(data_dir) / "gunicorn.log")
            try:
                server.start()

                before = count_rows()
                mark_activity(learners)
                log(f"heartbeats: {args.learners} learners for {args.seconds:g} s")
                assert server.proc is not None  # noqa: S101 - started above
                master = server.proc.pid
                beats = asyncio.run(heartbeat_phase(learners, server.port, args.seconds, master))
                log(describe("heartbeats", beats))
                if beats.not_active:
                    log(f"WARNING: {beats.not_active} heartbeat answers were 200 but not active")
                log("ending the study sessions (study_session_end)")
                end_sessions(learners)
                after = count_rows()
                added = {table: after[table] - before[table] for table in COUNTED_TABLES}
                log(f"rows added: {added}")
                log(study_summary(learners))

                log(f"no-op: {args.learners} clients GET /livez for {args.seconds:g} s")
                noop = asyncio.run(
                    get_phase("/livez", b"ok", args.learners, server.port, args.seconds, master)
                )
                log(describe("no-op", noop))
                log(f"one round trip: {args.learners} clients GET /healthz for {args.seconds:g} s")
                floor = asyncio.run(
                    get_phase(
                        "/healthz",
                        b'{"ok": true}',
                        args.learners,
                        server.port,
                        args.seconds,
                        master,
                    )
                )
                log(describe("one round trip", floor))
                for name, phase in (("/livez", noop), ("/healthz", floor)):
                    if phase.not_active:
                        log(f"WARNING: {phase.not_active} {name} answers were 200 but unexpected")

                server.log_problems()

                study_hours = args.learners * args.seconds / 3600
                results = {
                    "heartbeat_rps": f"{beats.rps:.1f}",
                    "heartbeat_p50_ms": f"{beats.percentile_ms(0.5):.2f}",
                    "heartbeat_p99_ms": f"{beats.percentile_ms(0.99):.2f}",
                    "heartbeat_errors": beats.errors,
                    "noop_rps": f"{noop.rps:.1f}",
                    "noop_p99_ms": f"{noop.percentile_ms(0.99):.2f}",
                    "heartbeat_to_noop_ratio": f"{beats.rps / noop.rps:.3f}" if noop.rps else "nan",
                    "roundtrip_rps": f"{floor.rps:.1f}",
                    "roundtrip_to_noop_ratio": f"{floor.rps / noop.rps:.3f}" if noop.rps else "nan",
                    "heartbeat_server_cpu_ms": f"{beats.cpu_ms_per_answer():.2f}",
                    "noop_server_cpu_ms": f"{noop.cpu_ms_per_answer():.2f}",
                    "roundtrip_server_cpu_ms": f"{floor.cpu_ms_per_answer():.2f}",
                    "db_rows_per_study_hour": f"{sum(added.values()) / study_hours:.1f}",
                    "learners": args.learners,
                    "seconds": f"{args.seconds:g}",
                    "gunicorn_workers": args.workers,
                }
            finally:
                server.stop()
    except BenchError as exc:
        log(f"error: {exc}")
        if server is not None and server.proc is not None:
            log(f"gunicorn output (last lines):\n{server.tail()}")
        return 1
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
