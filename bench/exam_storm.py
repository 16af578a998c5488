"""An exam storm under gunicorn + PostgreSQL: N trainees start the same exam at the same moment
(each drawing their own paper), save an answer every 10 s, then all hand in at once.

Method (one run, one server; the harness is bench/harness.py, shared with bench/heartbeat.py):

1. Data. The database of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/zhipei_exam_bench,
   created if missing, dropped afterwards unless DATABASE_URL was given or --keep-db) is
   migrated; one institution with a bank of 450 questions (200 single choice, 100 multiple,
   100 true/false, 50 fill-in) and a random paper drawing 45 of them by rules (20 single x 2,
   10 multiple x 3, 10 true/false x 2, 5 fill-in x 2 = 100 points, options shuffled), an exam
   open now for 60 minutes; N trainees, each with a logged-in Django session written to the
   session store and an exam-start face match recorded just before the storm ("their face
   checks already passed": recognition itself is measured by bench/face_verify.py).
2. Yardstick. Every trainee at the same moment POSTs an answer to an attempt that does not
   exist: login session and user loaded, one query, a JSON 404 (``auth_floor_*``): the least an
   authenticated request costs, so the floor under any start's latency in the same storm.
3. Start. Every trainee opens a connection and POSTs /exams/api/<exam>/start/ at the same
   moment (one asyncio.gather); latency runs from writing the request to reading the whole
   answer, connecting included. Every answer must be HTTP 200 with a paper of 45 questions.
4. Autosave. For --seconds, every trainee saves one answer (a valid one, to the next question
   of their paper) every 10 s, their first save at a random moment of the first 10 s (open
   loop: the rate is what the trainees ask, the latency what the server gives).
5. Grading. Every trainee POSTs /submit/ at the same moment; the server grades each attempt
   (objective items, fill-ins normalised) and writes the score. ``grading_per_s`` = attempts
   submitted and graded / seconds from the first request to the last answer.

Prints exam_start_p50_ms, exam_start_p99_ms (goal <= 500), exam_start_errors, autosave_rps,
autosave_p99_ms, autosave_errors, grading_per_s, submit_p99_ms, the server CPU per answer of
each phase (gunicorn and its PostgreSQL backends, ``*_server_cpu_ms``: less sensitive to other
load on the machine than the latencies) and the run's sizes.

Run: .venv/bin/python bench/exam_storm.py [--trainees 300] [--seconds 60] [--workers W]
     [--threads T] [--keep-db]
Only name=value lines go to stdout; progress and diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness lives beside this script
    HOST,
    BenchError,
    Gunicorn,
    HttpConnection,
    PhaseStats,
    bench_database,
    check_connection_budget,
    describe,
    log,
    login_headers,
    make_learner,
    measured,
    raise_fd_limit,
    report,
    serial_base,
    setup_django,
    timed,
)

RULES = [
    {"kind": "single", "count": 20, "score": 2},
    {"kind": "multiple", "count": 10, "score": 3},
    {"kind": "judge", "count": 10, "score": 2},
    {"kind": "fill", "count": 5, "score": 2},
]
BANK = {"single": 200, "multiple": 100, "judge": 100, "fill": 50}
SAVE_EVERY = 10.0  # seconds between one trainee's saves
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zhipei_exam_bench"


@dataclass
class Trainee:
    profile_id: int
    cookie: bytes  # Cookie and X-CSRFToken header lines
    attempt: int = 0
    questions: list[dict[str, Any]] = field(default_factory=list)
    saved: int = 0


def create_exam_and_trainees(count: int) -> tuple[int, list[Trainee]]:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from zhipei.core.tests.factories import InstitutionFactory
    from zhipei.courses.models import Course
    from zhipei.exams.models import Exam, Question
    from zhipei.exams.services import exam_create, paper_create
    from zhipei.lib.creditcode import make_credit_code

    trainees: list[Trainee] = []
    with transaction.atomic():
        serial = serial_base()
        institution = InstitutionFactory(
            name=f"考试基准培训学校{serial}",
            credit_code=make_credit_code(f"52331102MJ{serial:07d}"),
            licence_no=f"教民1331102{serial:07d}",
        )
        course = Course.objects.create(
            institution=institution, title="考试基准课程", kind=Course.Kind.VOCATIONAL
        )
        questions = []
        for kind, n in BANK.items():
            for i in range(n):
                if kind == "fill":
                    options, answer = [], [[str(i), f"{i}号"], ["Hz"]]
                elif kind == "judge":
                    options, answer = ["正确", "错误"], [i % 2]
                else:
                    options = [f"选项{j}" for j in range(4)]
                    answer = [i % 4] if kind == "single" else sorted({i % 4, (i + 1) % 4})
                questions.append(
                    Question(
                        institution=institution,
                        course=course,
                        kind=kind,
                        stem=f"{kind} 第 {i} 题：这是一道基准测试题目，题干长度与真实题目相当。",
                        options=options,
                        answer=answer,
                        difficulty=1 + i % 3,
                    )
                )
        Question.objects.bulk_create(questions)
        paper = paper_create(institution=institution, title="基准随机卷", by=None, rules=RULES)
        now = timezone.now()
        exam = exam_create(
            institution=institution,
            by=None,
            title="基准考试",
            paper=paper,
            scope=Exam.Scope.COURSE,
            course=course,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=3),
            duration_minutes=60,
            requires_completion=False,
        )
        for i in range(count):
            user = make_learner(institution, serial + i)
            trainees.append(
                Trainee(
                    profile_id=user.trainee_profile.pk,
                    cookie=login_headers(user).encode(),
                )
            )
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{count} trainees")
    return exam.pk, trainees


def record_face_matches(exam_id: int, trainees: list[Trainee]) -> None:
    """The exam-start face checks, passed just now (a match opens the exam for 5 minutes)."""
    from zhipei.exams.models import Exam
    from zhipei.faces.models import Decision, FaceAttempt, Purpose

    exam = Exam.objects.get(pk=exam_id)
    FaceAttempt.objects.bulk_create(
        FaceAttempt(
            trainee_id=t.profile_id,
            institution_id=exam.institution_id,
            purpose=Purpose.EXAM_START,
            decision=Decision.MATCH,
            distance=0.3,
            threshold=0.5,
            context=f"exam:{exam_id}",
        )
        for t in trainees
    )


def post(path: str, trainee: Trainee, body: bytes = b"") -> bytes:
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        + trainee.cookie
        + b"\r\n"
        + body
    )


def answer_for(question: dict[str, Any]) -> Any:
    """A well-formed answer (right or wrong does not matter to the server's work)."""
    if question["kind"] == "fill":
        return ["１２", " hz"][: question["blanks"]] + [""] * max(0, question["blanks"] - 2)
    if question["kind"] == "multiple":
        return [0, 1]
    return [random.randrange(len(question["options"]))]  # noqa: S311 - not a secret


async def at_once(
    port: int, requests: list[bytes], master: int | None = None
) -> tuple[PhaseStats, list[tuple[int, bytes] | None]]:
    """Every request on a connection of its own, all sent at the same moment (one gather);
    measured (server CPU and all) when ``master`` is given. The answers, in order."""
    stats = PhaseStats()
    conns = [HttpConnection(port) for _ in requests]
    sends = [timed(c, r, stats) for c, r in zip(conns, requests, strict=True)]
    try:
        with measured(stats, master) if master is not None else nullcontext():
            answers = await asyncio.gather(*sends)
    finally:
        for conn in conns:
            conn.close()
    return stats, list(answers)


async def start_phase(exam_id: int, trainees: list[Trainee], port: int, master: int) -> PhaseStats:
    path = f"/exams/api/{exam_id}/start/"
    stats, answers = await at_once(port, [post(path, t) for t in trainees], master)
    for trainee, answer in zip(trainees, answers, strict=True):
        if answer is not None and answer[0] == 200:
            state = json.loads(answer[1])
            trainee.attempt, trainee.questions = state["attempt"], state["questions"]
    return stats


async def autosave_phase(
    trainees: list[Trainee], port: int, seconds: float, master: int
) -> PhaseStats:
    stats = PhaseStats()

    async def one(trainee: Trainee) -> None:
        conn = HttpConnection(port)  # gunicorn closes idle keep-alives: a connection per save
        await asyncio.sleep(random.uniform(0, SAVE_EVERY))  # noqa: S311
        path = f"/exams/api/attempts/{trainee.attempt}/answer/"
        while time.monotonic() < deadline:
            question = trainee.questions[trainee.saved % len(trainee.questions)]
            body = json.dumps({"question": question["id"], "value": answer_for(question)})
            planned = time.monotonic() + SAVE_EVERY
            answer = await timed(conn, post(path, trainee, body.encode()), stats)
            conn.close()
            if answer is not None and answer[0] == 200:
                trainee.saved += 1
            await asyncio.sleep(max(0.0, min(planned, deadline) - time.monotonic()))

    with measured(stats, master):
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(one(t) for t in trainees))
    # The rate over the window the trainees were asked to save in (a save in flight at the
    # deadline still counts: it was asked for within it).
    stats.elapsed = seconds
    return stats


WARM_PATH = "/exams/api/attempts/0/answer/"  # no such attempt: a 404 after the whole stack
WARM_BODY = b'{"question": 1, "value": [0]}'


def _expect_404s(stats: PhaseStats, what: str) -> None:
    if stats.statuses.get(404, 0) != len(stats.latencies):
        raise BenchError(f"{what} requests answered {dict(stats.statuses)}, expected 404s")


async def warm_up(trainees: list[Trainee], port: int, workers: int, threads: int) -> None:
    """Every worker process imports, and every thread connects to the database, lazily: three
    authenticated requests per thread first, all at once, so that the storm measures the exam,
    not the server's first breath."""
    requests = [
        post(WARM_PATH, trainees[n % len(trainees)], WARM_BODY)
        for n in range(workers * threads * 3)
    ]
    stats, _answers = await at_once(port, requests)
    _expect_404s(stats, "warm-up")


async def floor_phase(trainees: list[Trainee], port: int, master: int) -> PhaseStats:
    """The yardstick: every trainee at the same moment sends the least an authenticated API
    request does (login session, user, one query for an attempt that does not exist, a JSON
    404). No exam start can answer sooner than this under the same storm."""
    stats, _answers = await at_once(port, [post(WARM_PATH, t, WARM_BODY) for t in trainees], master)
    _expect_404s(stats, "yardstick")
    stats.ok = len(trainees)  # the expected answer here is the 404: count it as the phase's "ok"
    return stats


async def submit_phase(trainees: list[Trainee], port: int, master: int) -> PhaseStats:
    requests = [post(f"/exams/api/attempts/{t.attempt}/submit/", t) for t in trainees]
    stats, _answers = await at_once(port, requests, master)
    return stats


def check_results(exam_id: int, trainees: list[Trainee]) -> str:
    from django.db.models import Count

    from zhipei.exams.models import Attempt

    by_status = dict(
        Attempt.objects.filter(exam_id=exam_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    graded = Attempt.objects.filter(exam_id=exam_id, score__isnull=False).count()
    saved = sum(t.saved for t in trainees)
    return f"attempts by status {by_status}; graded {graded}; answers saved {saved}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trainees", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.trainees < 1 or args.seconds <= 0 or args.workers < 1 or args.threads < 1:
        parser.error("--trainees, --seconds, --workers and --threads must be positive")
    return args


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    keep = bool(os.environ.get("DATABASE_URL")) or args.keep_db
    server: Gunicorn | None = None
    try:
        raise_fd_limit(args.trainees)
        with bench_database(url, prefix="zhipei-exam-storm-", keep=keep) as data_dir:
            setup_django()
            check_connection_budget(args.workers, args.threads)
            log(f"creating the bank, the paper, the exam and {args.trainees} trainees")
            exam_id, trainees = create_exam_and_trainees(args.trainees)
            server = Gunicorn(args.workers, args.threads, Path(data_dir) / "gunicorn.log")
            try:
                server.start()
                asyncio.run(warm_up(trainees, server.port, args.workers, args.threads))
                record_face_matches(exam_id, trainees)
                master = server.proc.pid if server.proc else 0

                log(f"yardstick: {args.trainees} authenticated 404s at the same moment")
                floor = asyncio.run(floor_phase(trainees, server.port, master))
                log(describe("yardstick", floor))

                log(f"start: {args.trainees} trainees at the same moment")
                starts = asyncio.run(start_phase(exam_id, trainees, server.port, master))
                log(describe("start", starts))
                short = [t for t in trainees if len(t.questions) != sum(r["count"] for r in RULES)]
                if starts.errors or short:
                    raise BenchError(
                        f"{starts.errors} starts failed, {len(short)} papers incomplete"
                    )

                log(
                    f"autosave: one answer per trainee every {SAVE_EVERY:g} s for {args.seconds:g} s"
                )
                saves = asyncio.run(autosave_phase(trainees, server.port, args.seconds, master))
                log(describe("autosave", saves))

                log("submit: every trainee hands in at the same moment")
                submits = asyncio.run(submit_phase(trainees, server.port, master))
                log(describe("submit", submits))
                log(check_results(exam_id, trainees))

                server.log_problems()

                results = {
                    "exam_start_p50_ms": f"{starts.percentile_ms(0.5):.1f}",
                    "exam_start_p99_ms": f"{starts.percentile_ms(0.99):.1f}",
                    "exam_start_errors": starts.errors,
                    "exam_start_server_cpu_ms": f"{starts.cpu_ms_per_answer():.2f}",
                    "auth_floor_p99_ms": f"{floor.percentile_ms(0.99):.1f}",
                    "auth_floor_server_cpu_ms": f"{floor.cpu_ms_per_answer():.2f}",
                    "autosave_rps": f"{saves.rps:.1f}",
                    "autosave_p50_ms": f"{saves.percentile_ms(0.5):.1f}",
                    "autosave_p99_ms": f"{saves.percentile_ms(0.99):.1f}",
                    "autosave_errors": saves.errors,
                    "autosave_server_cpu_ms": f"{saves.cpu_ms_per_answer():.2f}",
                    "grading_per_s": f"{submits.rps:.1f}",
                    "submit_p99_ms": f"{submits.percentile_ms(0.99):.1f}",
                    "submit_errors": submits.errors,
                    "submit_server_cpu_ms": f"{submits.cpu_ms_per_answer():.2f}",
                    "trainees": args.trainees,
                    "questions_per_paper": sum(r["count"] for r in RULES),
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
