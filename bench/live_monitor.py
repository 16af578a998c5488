"""The console's live monitor with 1,000 people studying at once, on PostgreSQL.

Method:

1. Data. The database of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/zhipei_live_bench,
   created if missing, dropped afterwards unless DATABASE_URL was given or --keep-db) is
   migrated. One institution, one course with a lesson, a class holding the course and every
   trainee; N trainees, each with a live session (a mix of studying, waiting for the start
   check, a re-check due, a question open, silent, paused) and two face attempts of that
   session, and a history of --history ended sessions each (with two attempts and a question):
   the latest-face lookup must not depend on how much history the table holds.
2. Measure. An institution admin (a logged-in Django session) loads /console/live/ once, then
   GETs /console/live/data/ --requests times in this process (Django's test client: the view,
   its queries and the JSON, no HTTP server or network), unfiltered and filtered by the class.

Prints live_data_rows, live_data_p50_ms, live_data_p90_ms, live_data_queries (per request),
live_data_bytes_gzip (what goes over the wire), live_data_bytes_json, live_class_p50_ms, live_page_ms (median of 3 loads of the page, which renders the rows itself) and the
run's sizes.

Run: .venv/bin/python bench/live_monitor.py [--learners 1000] [--history 5] [--requests 30]
     [--keep-db]
Only name=value lines go to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/zhipei_live_bench"


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def _admin_url(url: str) -> tuple[str, str]:
    """A connection string to the server's `postgres` database, and the database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def ensure_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(learners: int, history: int) -> dict[str, object]:
    from datetime import timedelta

    from django.utils import timezone

    from zhipei.accounts.models import Membership, Role, TraineeProfile, User
    from zhipei.core.tests.factories import InstitutionFactory, id_number_for, phone_for
    from zhipei.courses.models import (
        Chapter,
        ClassMember,
        Course,
        Lesson,
        LessonQuestion,
        TrainingClass,
    )
    from zhipei.faces.models import FaceAttempt
    from zhipei.study.models import QuizAnswer, StudySession

    now = timezone.now()
    institution = InstitutionFactory()
    course = Course.objects.create(institution=institution, title="电工基础", kind="vocational")
    lesson = Lesson.objects.create(
        chapter=Chapter.objects.create(course=course, title="第一章"),
        title="安全用电",
        duration_seconds=3600,
    )
    question = LessonQuestion.objects.create(lesson=lesson, text="?", options=["a", "b"], answer=0)
    training_class = TrainingClass.objects.create(
        institution=institution,
        name="电工一班",
        kind="vocational",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() + timedelta(days=30),
        required_xueshi=40,
    )
    training_class.courses.add(course)
    admin = User(username="live_admin", name="管理员", role=Role.INSTITUTION_ADMIN)
    admin.institution = institution
    admin.set_password("Zhipei-Bench-2026!")
    admin.save()

    log(f"creating {learners} trainees")
    profiles = []
    for n in range(learners):
        user = User(username=f"live{n:06d}", name=f"学员{n}", role=Role.TRAINEE)
        user.set_phone(phone_for(n))
        user.set_unusable_password()
        profiles.append(user)
    User.objects.bulk_create(profiles)
    users = list(User.objects.filter(role=Role.TRAINEE).order_by("username"))
    people = []
    for n, user in enumerate(users):
        profile = TraineeProfile(user=user)
        profile.set_id_number(id_number_for(n % 1000, birth=f"19{80 + n // 1000:02d}0101"))
        people.append(profile)
    TraineeProfile.objects.bulk_create(people)
    people = list(TraineeProfile.objects.order_by("id"))
    Membership.objects.bulk_create(
        Membership(trainee=p, institution=institution, source="admin") for p in people
    )
    ClassMember.objects.bulk_create(
        ClassMember(training_class=training_class, trainee=p) for p in people
    )

    log(f"creating {history} ended sessions per trainee, then the live ones")
    ended = [
        StudySession(
            trainee=p,
            lesson=lesson,
            institution=institution,
            device="d",
            status=StudySession.Status.ENDED,
            end_reason="left",
            started_at=now - timedelta(days=day + 1),
            ended_at=now - timedelta(days=day + 1) + timedelta(minutes=40),
            credited_seconds=2400,
        )
        for p in people
        for day in range(history)
    ]
    StudySession.objects.bulk_create(ended, batch_size=2000)
    live = []
    for i, p in enumerate(people):
        kind = i % 6
        live.append(
            StudySession(
                trainee=p,
                lesson=lesson,
                institution=institution,
                device="d",
                status=StudySession.Status.AWAITING_FACE
                if kind == 1
                else StudySession.Status.ACTIVE,
                started_at=now - timedelta(minutes=10 + i % 30),
                face_passed_at=None if kind == 1 else now - timedelta(minutes=10),
                face_due_at=now + timedelta(seconds=30) if kind == 2 else None,
                face_failures=1 if kind == 2 else 0,
                last_beat_at=now - timedelta(seconds=90 if kind == 4 else 2),
                last_activity_at=now - timedelta(seconds=20),
                credited_seconds=300 + i,
            )
        )
    StudySession.objects.bulk_create(live, batch_size=2000)
    sessions = list(
        StudySession.objects.order_by("id").values_list("id", "trainee_id", "started_at")
    )
    attempts = []
    answers = []
    for session_id, trainee_id, started_at in sessions:
        for k in range(2):
            attempts.append(
                FaceAttempt(
                    trainee_id=trainee_id,
                    institution=institution,
                    purpose="study_start" if k == 0 else "study_recheck",
                    decision="MATCH" if (session_id + k) % 5 else "MISMATCH",
                    at=started_at + timedelta(seconds=5 + 300 * k),
                    context=f"study:{session_id}",
                    evidence=f"evidence/bench-{session_id}-{k}.jpg.enc",
                )
            )
        answers.append(
            QuizAnswer(
                session_id=session_id,
                question=question,
                asked_at=started_at + timedelta(minutes=2),
                deadline=started_at + timedelta(minutes=3),
                outcome="wrong" if session_id % 7 == 0 else "correct",
            )
        )
    FaceAttempt.objects.bulk_create(attempts, batch_size=5000)
    QuizAnswer.objects.bulk_create(answers, batch_size=5000)
    # Open questions on a sixth of the live sessions.
    for session in StudySession.objects.exclude(status=StudySession.Status.ENDED)[::6]:
        pending = QuizAnswer.objects.create(
            session=session, question=question, asked_at=now, deadline=now + timedelta(minutes=1)
        )
        StudySession.objects.filter(pk=session.pk).update(quiz=pending)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "admin": admin,
        "class_id": training_class.pk,
        "sessions": len(sessions),
        "attempts": len(attempts),
    }


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--history", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    given = os.environ.get("DATABASE_URL")
    url = given or DEFAULT_URL
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL must be a PostgreSQL database")
    data_dir = tempfile.mkdtemp(prefix="zhipei-live-bench-")
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "zhipei.settings",
            "ZHIPEI_DATA_DIR": data_dir,
            "ZHIPEI_DB_CONN_MAX_AGE": "0",
            "ZHIPEI_LOG_LEVEL": "WARNING",
            # Every request reads the database: what one reading costs (sharing is measured
            # separately below).
            "ZHIPEI_CONSOLE_LIVE_SHARE_SECONDS": "0",
        }
    )
    if not given:
        drop_database(url)
    ensure_database(url)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        log("migrating")
        call_command("migrate", verbosity=0)
        made = populate(args.learners, args.history)
        client = Client(HTTP_HOST="localhost")
        client.force_login(made["admin"], backend="zhipei.accounts.backends.ZhipeiBackend")

        page_times = []
        for _ in range(3):  # the first load also compiles templates and URL patterns
            started = time.perf_counter()
            page = client.get("/console/live/")
            page_times.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200, page.status_code

        def measure(params: dict[str, object]) -> tuple[list[float], int, int, int, int]:
            times: list[float] = []
            rows = size = queries = 0
            body = b""
            for _ in range(args.requests):
                with CaptureQueriesContext(connection) as captured:
                    t0 = time.perf_counter()
                    response = client.get(
                        "/console/live/data/", params, HTTP_ACCEPT_ENCODING="gzip"
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.content[:200]
                assert response["Content-Encoding"] == "gzip"
                body = gzip.decompress(response.content)
                rows, size = len(json.loads(body)["rows"]), len(response.content)
                queries = len(captured.captured_queries)
            return times, rows, size, len(body), queries

        log(f"measuring {args.requests} requests")
        times, rows, size, raw, queries = measure({})
        class_times, class_rows, _, _, _ = measure({"class": made["class_id"]})
        assert rows == class_rows == args.learners, (rows, class_rows)
        from django.test import override_settings

        with override_settings(CONSOLE_LIVE_SHARE_SECONDS=600):
            client.get("/console/live/data/")  # the first reading, which colleagues then share
            shared_times, shared_rows, _, _, shared_queries = measure({})
        assert shared_rows == rows, shared_rows
        out = {
            "live_data_rows": rows,
            "live_data_p50_ms": f"{statistics.median(times):.1f}",
            "live_data_p90_ms": f"{p(times, 0.9):.1f}",
            "live_data_queries": queries,
            "live_data_bytes_gzip": size,
            "live_data_bytes_json": raw,
            "live_class_p50_ms": f"{statistics.median(class_times):.1f}",
            "live_data_shared_p50_ms": f"{statistics.median(shared_times):.1f}",
            "live_data_shared_queries": shared_queries,
            "live_page_ms": f"{statistics.median(page_times):.1f}",
            "sessions_total": made["sessions"],
            "face_attempts_total": made["attempts"],
        }
        for key, value in out.items():
            print(f"{key}={value}")
        connections.close_all()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if not given and not args.keep_db:
            drop_database(url)


if __name__ == "__main__":
    main()
