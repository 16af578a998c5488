"""Study heartbeat capacity under gunicorn + PostgreSQL, against the no-op view, and the rows
that supervised study writes per learner-hour.

Method (one run, one server):

1. Data. The database of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/zhipei_bench,
   created if missing) is migrated; one institution, course, chapter and a 3600 s lesson are
   created, and N trainees, each with an ACTIVE study session started through
   ``study_session_start`` and then marked as past its start face check, with the next face
   check and question a year away (nothing interrupts the heartbeats), and a logged-in Django
   session written straight to the session store (no login views).
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
   is true. The client is raw HTTP/1.1 on asyncio streams, one process, one thread.
4. No-op. The same number of clients GET /livez (no database, no session) for as long.
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
system) of gunicorn's processes and of the PostgreSQL backends connected to the bench database,
per HTTP 200 answer: what one answer costs the server, whatever else the machine is running.

Run: .venv/bin/python bench/heartbeat.py [--learners 500] [--seconds 30] [--workers W]
     [--threads T] [--keep-db]
Only name=value lines go to stdout; progress and diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zhipei_bench"
HOST = "127.0.0.1"
COUNTED_TABLES = (
    "study_studysegment",
    "study_uncreditedinterval",
    "study_quizanswer",
    "audit_auditentry",
    "faces_faceattempt",
)
REQUEST_TIMEOUT = 15.0  # seconds; a request without an answer by then is an error
MAX_REQUESTS_PER_CLIENT = 1_000_000  # a bound besides the deadline
SERVER_START_TIMEOUT = 60.0
PREFLIGHT_CONCURRENCY = 64
BACKEND = "zhipei.accounts.backends.ZhipeiBackend"


class BenchError(Exception):
    """The bench cannot measure what it should; the message says why."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database and Django ------------------------------------------------------------------------


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise BenchError(f"DATABASE_URL must be a PostgreSQL URL, not {parts.scheme!r}")
    name = parts.path.lstrip("/")
    if not name:
        raise BenchError("DATABASE_URL names no database")
    return name


@contextmanager
def maintenance_connection(url: str) -> Iterator[Any]:
    """An autocommit connection to the server's ``postgres`` database (to create/drop ours)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    parts = urlsplit(url)
    conninfo = make_conninfo(
        host=parts.hostname or "",
        port=parts.port or "",
        user=parts.username or "",
        password=parts.password or "",
        dbname="postgres",
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def ensure_database(url: str) -> None:
    from psycopg import sql

    name = database_name(url)
    with maintenance_connection(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"database {name} exists")
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        log(f"created database {name}")


def drop_database(url: str) -> None:
    from psycopg import sql

    name = database_name(url)
    with maintenance_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    log(f"dropped database {name}")


def configure_environment(database_url: str, data_dir: str) -> None:
    """The settings this process and gunicorn share (gunicorn inherits os.environ)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "zhipei.settings"
    os.environ["ZHIPEI_ALLOWED_HOSTS"] = HOST
    os.environ["ZHIPEI_LOG_LEVEL"] = "WARNING"
    os.environ["ZHIPEI_DB_CONN_MAX_AGE"] = "60"
    os.environ["ZHIPEI_DATA_DIR"] = data_dir
    if not os.environ.get("ZHIPEI_SECRET_KEY"):
        os.environ["ZHIPEI_SECRET_KEY"] = secrets.token_urlsafe(50)
    if not os.environ.get("ZHIPEI_FIELD_KEYS"):
        os.environ["ZHIPEI_FIELD_KEYS"] = "k1:" + base64.b64encode(os.urandom(32)).decode()
    if not os.environ.get("ZHIPEI_BLIND_INDEX_KEY"):
        os.environ["ZHIPEI_BLIND_INDEX_KEY"] = base64.b64encode(os.urandom(32)).decode()


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    log("migrating")
    call_command("migrate", verbosity=0)


@dataclass
class Learner:
    session_id: int
    path: bytes  # the heartbeat URL
    cookie: bytes  # the Cookie and X-CSRFToken header lines
    seq: int = 0
    started: float = 0.0  # monotonic time of the baseline heartbeat (position 0)


def _serial_base() -> int:
    """Numbers above every existing user and institution, so that a kept database can host
    another run (usernames, phones, ID numbers and credit codes are unique)."""
    from django.db.models import Max

    from zhipei.accounts.models import User
    from zhipei.institutions.models import Institution

    users = User.objects.aggregate(m=Max("id"))["m"] or 0
    institutions = Institution.objects.aggregate(m=Max("id"))["m"] or 0
    return max(users, institutions) + 1


def _make_learner(institution: Any, serial: int) -> Any:
    """``make_trainee`` (zhipei.core.tests.factories) with ID numbers that stay unique beyond
    1000 trainees: the factory's repeat every 1000, here the birth date moves on instead."""
    from zhipei.accounts.models import Membership, Role, TraineeProfile, User
    from zhipei.core.tests.factories import id_number_for

    user = User(username=f"bench{serial:07d}", name="基准学员", role=Role.TRAINEE)
    user.set_phone(f"137{serial:08d}")
    user.set_unusable_password()
    user.save()
    profile = TraineeProfile(user=user)
    birth = date(1980, 1, 1) + timedelta(days=serial // 1000)
    profile.set_id_number(id_number_for(serial % 1000, birth=birth.strftime("%Y%m%d")))
    profile.save()
    Membership.objects.create(
        trainee=profile, institution=institution, source=Membership.Source.ADMIN
    )
    return user


def create_learners(count: int) -> list[Learner]:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from zhipei.core.tests.factories import InstitutionFactory
    from zhipei.courses.models import Chapter, Course, Lesson
    from zhipei.lib.creditcode import make_credit_code
    from zhipei.study.models import StudySession
    from zhipei.study.services import study_session_start

    alphabet = string.ascii_letters + string.digits
    learners: list[Learner] = []
    with transaction.atomic():
        serial = _serial_base()
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
            user = _make_learner(institution, serial + i)
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
            store = SessionStore()
            store["_auth_user_id"] = str(user.pk)
            store["_auth_user_backend"] = BACKEND
            store["_auth_user_hash"] = user.get_session_auth_hash()
            store["last_seen"] = time.time()
            store.save()
            csrf = "".join(secrets.choice(alphabet) for _ in range(32))
            learners.append(
                Learner(
                    session_id=session.pk,
                    path=f"/study/api/sessions/{session.pk}/heartbeat/".encode(),
                    cookie=(
                        f"Cookie: sessionid={store.session_key}; csrftoken={csrf}\r\n"
                        f"X-CSRFToken: {csrf}\r\n"
                        f"X-Study-Token: {token}\r\n"
                    ).encode(),
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group, its output kept in a file for the post-mortem."""

    def __init__(self, workers: int, threads: int, log_path: Path) -> None:
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "zhipei.wsgi",
            "-b",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            # No runtime control: nor should the bench take the default socket in ~/.gunicorn.
            "--no-control-socket",
        ]
        log(f"starting {' '.join(command[1:])}")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own command line
                command,
                cwd=ROOT,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            if self._live():
                log(f"gunicorn answers on {HOST}:{self.port}")
                return
            time.sleep(0.2)
        raise BenchError(f"/livez did not answer within {SERVER_START_TIMEOUT:.0f} s")

    def _live(self) -> bool:
        import http.client

        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/livez", headers={"Host": HOST})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log("gunicorn did not stop in 20 s: killing its process group")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def problems(self) -> list[str]:
        """Lines of the server's output that report something wrong."""
        markers = ("ERROR", "CRITICAL", "Traceback", "WORKER TIMEOUT", "WARNING", "Error")
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in markers)]


# --- the load client ----------------------------------------------------------------------------


@dataclass
class PhaseStats:
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    ok: int = 0  # HTTP 200
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # no answer: why
    not_active: int = 0  # 200 heartbeat answers whose session was no longer active
    elapsed: float = 0.0
    client_cpu: float = 0.0  # CPU seconds of this process during the phase
    host_busy: float = 0.0  # busy CPUs of the whole machine, on average
    server_cpu: float = 0.0  # CPU seconds of gunicorn (master and workers)
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends connected to the bench database

    def cpu_ms_per_answer(self) -> float:
        """Server-side CPU (gunicorn and its database backends) per HTTP 200 answer."""
        return (self.server_cpu + self.db_cpu) / self.ok * 1000 if self.ok else math.nan

    @property
    def errors(self) -> int:
        return len(self.latencies) - self.ok

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile (q in 0..1) of the latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; requests are written as bytes, answers parsed by
    Content-Length (or chunked, or until close)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.stream is None:
            self.stream = await asyncio.open_connection(HOST, self.port)
        reader, writer = self.stream
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            body = await self._chunked(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
        if close:
            self.close()
        return status, body

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def close(self) -> None:
        if self.stream is not None:
            self.stream[1].close()
        self.stream = None


async def timed(
    conn: HttpConnection, request: bytes, stats: PhaseStats
) -> tuple[int, bytes] | None:
    """One request, its latency recorded; None (and the connection reset) when no answer."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status, body = await conn.exchange(request)
    except TimeoutError:
        stats.latencies.append(REQUEST_TIMEOUT)
        stats.failures["timeout"] += 1
        conn.close()
        return None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        stats.latencies.append(time.perf_counter() - start)
        stats.failures[type(exc).__name__] += 1
        conn.close()
        await asyncio.sleep(0.05)  # a refused or broken connection must not spin
        return None
    stats.latencies.append(time.perf_counter() - start)
    stats.statuses[status] += 1
    if status == 200:
        stats.ok += 1
    return status, body


def heartbeat_request(learner: Learner, position: float) -> bytes:
    learner.seq += 1
    body = json.dumps(
        {
            "seq": learner.seq,
            "position": round(position, 3),
            "rate": 1,
            "visible": True,
            "focused": True,
            "playing": True,
            "interacted": True,
        },
        separators=(",", ":"),
    ).encode()
    return (
        b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
        b"Accept: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (learner.path, HOST.encode(), learner.cookie, len(body), body)
    )


ACTIVE = b'"status": "active"'


async def preflight(learners: list[Learner], conns: list[HttpConnection]) -> None:
    """Each learner's baseline heartbeat; all must be 200 and active, or the run stops here."""
    gate = asyncio.Semaphore(PREFLIGHT_CONCURRENCY)
    stats = PhaseStats()
    failed: list[str] = []

    async def first(learner: Learner, conn: HttpConnection) -> None:
        async with gate:
            learner.started = time.monotonic()
            answer = await timed(conn, heartbeat_request(learner, 0.0), stats)
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


def host_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each process that still exists."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return cpu


def server_pids(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                pids.append(int(entry.name))
    return pids


def backend_pids() -> list[int]:
    """The PostgreSQL backends serving the bench database (gunicorn's connections). Not through
    Django: this runs inside the load client's event loop."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@contextmanager
def measured(stats: PhaseStats, master: int) -> Iterator[None]:
    """Time, client and host CPU, and the CPU of gunicorn and of its database backends: the
    server-side CPU per answer does not depend on what else the machine is running."""
    server0 = process_cpu(server_pids(master))
    db0 = process_cpu(backend_pids())
    cpu0, (busy0, total0), t0 = time.process_time(), host_cpu_ticks(), time.perf_counter()
    yield
    stats.elapsed = time.perf_counter() - t0
    stats.client_cpu = time.process_time() - cpu0
    busy1, total1 = host_cpu_ticks()
    cores = os.cpu_count() or 1
    stats.host_busy = (busy1 - busy0) / max(1, total1 - total0) * cores
    stats.server_cpu = cpu_delta(server0, process_cpu(server_pids(master)))
    stats.db_cpu = cpu_delta(db0, process_cpu(backend_pids()))


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


async def noop_phase(clients: int, port: int, seconds: float, master: int) -> PhaseStats:
    request = b"GET /livez HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST.encode()
    stats = PhaseStats()
    conns = [HttpConnection(port) for _ in range(clients)]

    async def client_loop(conn: HttpConnection) -> None:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            answer = await timed(conn, request, stats)
            if answer is not None and answer[0] == 200 and answer[1] != b"ok":
                stats.not_active += 1

    try:
        with measured(stats, master):
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(client_loop(c) for c in conns))
        return stats
    finally:
        for conn in conns:
            conn.close()


def describe(name: str, stats: PhaseStats) -> str:
    return (
        f"{name}: {len(stats.latencies)} requests in {stats.elapsed:.1f} s, "
        f"statuses {dict(stats.statuses)}, no answer {dict(stats.failures)}, "
        f"p50 {stats.percentile_ms(0.5):.1f} ms, p99 {stats.percentile_ms(0.99):.1f} ms, "
        f"max {max(stats.latencies, default=0) * 1000:.0f} ms; "
        f"host CPU busy {stats.host_busy:.2f} of {os.cpu_count()} cores, "
        f"load client {stats.client_cpu / max(stats.elapsed, 1e-9):.2f} core, "
        f"gunicorn {stats.server_cpu / max(stats.elapsed, 1e-9):.2f} core, "
        f"its PostgreSQL backends {stats.db_cpu / max(stats.elapsed, 1e-9):.2f} core; "
        f"server CPU per answer {stats.cpu_ms_per_answer():.2f} ms "
        f"(gunicorn {stats.server_cpu / max(stats.ok, 1) * 1000:.2f}, "
        f"PostgreSQL {stats.db_cpu / max(stats.ok, 1) * 1000:.2f})"
    )


# --- main ---------------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < want:
            raise BenchError(f"{needed} connections need {want} file descriptors; limit {hard}")


def check_connection_budget(workers: int, threads: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        limit = int(cursor.fetchone()[0])
    if workers * threads + 2 > limit:
        log(
            f"WARNING: {workers} workers x {threads} threads may open {workers * threads} "
            f"database connections; PostgreSQL allows {limit}"
        )


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
    from_env = bool(os.environ.get("DATABASE_URL"))
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    data_dir = tempfile.mkdtemp(prefix="zhipei-heartbeat-")
    server: Gunicorn | None = None
    results: dict[str, object] = {}
    database_ready = False
    try:
        raise_fd_limit(args.learners)
        ensure_database(url)
        database_ready = True
        configure_environment(url, data_dir)
        setup_django()
        check_connection_budget(args.workers, args.threads)
        log(f"creating {args.learners} learners with active study sessions")
        learners = create_learners(args.learners)
        server = Gunicorn(args.workers, args.threads, Path(data_dir) / "gunicorn.log")
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
        noop = asyncio.run(noop_phase(args.learners, server.port, args.seconds, master))
        log(describe("no-op", noop))
        if noop.not_active:
            log(f"WARNING: {noop.not_active} /livez answers were 200 but not 'ok'")

        problems = server.problems()
        if problems:
            log(f"server reported {len(problems)} problem lines; first ones:")
            for line in problems[:15]:
                log(f"  {line}")
        else:
            log("server log: no errors or warnings")

        study_hours = args.learners * args.seconds / 3600
        results = {
            "heartbeat_rps": f"{beats.rps:.1f}",
            "heartbeat_p50_ms": f"{beats.percentile_ms(0.5):.2f}",
            "heartbeat_p99_ms": f"{beats.percentile_ms(0.99):.2f}",
            "heartbeat_errors": beats.errors,
            "noop_rps": f"{noop.rps:.1f}",
            "noop_p99_ms": f"{noop.percentile_ms(0.99):.2f}",
            "heartbeat_to_noop_ratio": f"{beats.rps / noop.rps:.3f}" if noop.rps else "nan",
            "heartbeat_server_cpu_ms": f"{beats.cpu_ms_per_answer():.2f}",
            "noop_server_cpu_ms": f"{noop.cpu_ms_per_answer():.2f}",
            "db_rows_per_study_hour": f"{sum(added.values()) / study_hours:.1f}",
            "learners": args.learners,
            "seconds": f"{args.seconds:g}",
            "gunicorn_workers": args.workers,
        }
    except BenchError as exc:
        log(f"error: {exc}")
        if server is not None and server.proc is not None:
            log(f"gunicorn output (last lines):\n{server.tail()}")
        return 1
    finally:
        if server is not None:
            server.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if database_ready and (from_env or args.keep_db):
            log(f"kept database {database_name(url)}")
        elif database_ready:
            drop_database(url)
        shutil.rmtree(data_dir, ignore_errors=True)
    for name, value in results.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
