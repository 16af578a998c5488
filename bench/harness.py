"""What the benchmarks share: a PostgreSQL database of their own and the Django set-up around
it, gunicorn in its own process group, a raw HTTP/1.1 client on asyncio, latency and CPU
accounting per phase, and the name=value report. Each bench script imports it from beside itself."""

from __future__ import annotations

import asyncio
import base64
import math
import os
import resource
import secrets
import shutil
import signal
import socket
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
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 15.0  # seconds; a request without an answer by then is an error
MAX_REQUESTS_PER_CLIENT = 1_000_000  # a bound besides the deadline
SERVER_START_TIMEOUT = 60.0
BACKEND = "zhipei.accounts.backends.ZhipeiBackend"
# Production runs with Redis (cache, rate limits, cached login sessions): so do the benchmarks,
# on a database number of their own, when a Redis server answers there. BENCH_REDIS_URL=""
# runs without it (local-memory cache, sessions read from PostgreSQL).
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
sys.path.insert(0, str(ROOT))


class BenchError(Exception):
    """The bench cannot measure what it should; the message says why."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    if redis_answers(BENCH_REDIS_URL):
        os.environ["REDIS_URL"] = BENCH_REDIS_URL
        log(f"cache and sessions: {BENCH_REDIS_URL}")
    else:
        os.environ.pop("REDIS_URL", None)
        log("cache: local memory; sessions: PostgreSQL (no Redis)")
    if not os.environ.get("ZHIPEI_SECRET_KEY"):
        os.environ["ZHIPEI_SECRET_KEY"] = secrets.token_urlsafe(50)
    if not os.environ.get("ZHIPEI_FIELD_KEYS"):
        os.environ["ZHIPEI_FIELD_KEYS"] = "k1:" + base64.b64encode(os.urandom(32)).decode()
    if not os.environ.get("ZHIPEI_BLIND_INDEX_KEY"):
        os.environ["ZHIPEI_BLIND_INDEX_KEY"] = base64.b64encode(os.urandom(32)).decode()


def redis_answers(url: str) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    log("migrating")
    call_command("migrate", verbosity=0)


def serial_base() -> int:
    """Numbers above every existing user and institution, so that a kept database can host
    another run (usernames, phones, ID numbers and credit codes are unique)."""
    from django.db.models import Max

    from zhipei.accounts.models import User
    from zhipei.institutions.models import Institution

    users = User.objects.aggregate(m=Max("id"))["m"] or 0
    institutions = Institution.objects.aggregate(m=Max("id"))["m"] or 0
    return max(users, institutions) + 1


def make_learner(institution: Any, serial: int) -> Any:
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

    def log_problems(self) -> None:
        """The first lines of the server's output that report something wrong, or that none do."""
        problems = self.problems()
        if not problems:
            log("server log: no errors or warnings")
            return
        log(f"server reported {len(problems)} problem lines; first ones:")
        for line in problems[:15]:
            log(f"  {line}")


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
    db_cpu: float = (
        0.0  # CPU seconds of PostgreSQL: the bench database's backends, the cluster's own
    )

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
    """The PostgreSQL processes working for the bench: the backends serving the bench database
    (gunicorn's connections) and the cluster's own background processes (the WAL writer, which
    flushes commits that do not wait for it, the checkpointer, the background writer,
    autovacuum). Not through Django: this runs inside the load client's event loop."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND (datname = current_database() OR datname IS NULL)"
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


def describe(name: str, stats: PhaseStats) -> str:
    return (
        f"{name}: {len(stats.latencies)} requests in {stats.elapsed:.1f} s, "
        f"statuses {dict(stats.statuses)}, no answer {dict(stats.failures)}, "
        f"p50 {stats.percentile_ms(0.5):.1f} ms, p99 {stats.percentile_ms(0.99):.1f} ms, "
        f"max {max(stats.latencies, default=0) * 1000:.0f} ms; "
        f"host CPU busy {stats.host_busy:.2f} of {os.cpu_count()} cores, "
        f"load client {stats.client_cpu / max(stats.elapsed, 1e-9):.2f} core, "
        f"gunicorn {stats.server_cpu / max(stats.elapsed, 1e-9):.2f} core, "
        f"PostgreSQL {stats.db_cpu / max(stats.elapsed, 1e-9):.2f} core; "
        f"server CPU per answer {stats.cpu_ms_per_answer():.2f} ms "
        f"(gunicorn {stats.server_cpu / max(stats.ok, 1) * 1000:.2f}, "
        f"PostgreSQL {stats.db_cpu / max(stats.ok, 1) * 1000:.2f})"
    )


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


@contextmanager
def bench_database(url: str, *, prefix: str, keep: bool) -> Iterator[str]:
    """The PostgreSQL database of ``url`` (created if missing) with this process's environment
    pointed at it and a data directory of its own (yielded; gunicorn started later inherits
    both). At the end: connections closed, the database dropped unless ``keep``, the directory
    removed. Django is set up by the caller (after any environment of its own)."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    ready = False
    try:
        ensure_database(url)
        ready = True
        configure_environment(url, data_dir)
        yield data_dir
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if ready and keep:
            log(f"kept database {database_name(url)}")
        elif ready:
            drop_database(url)
        shutil.rmtree(data_dir, ignore_errors=True)


def report(results: dict[str, object]) -> None:
    """The figures, as name=value lines on stdout (everything else goes to stderr)."""
    for name, value in results.items():
        print(f"{name}={value}")


def login_headers(user: Any) -> str:
    """The Cookie and X-CSRFToken header lines of a logged-in Django session for ``user``,
    written straight to the configured session store, as a login writes it (no login views; with
    Redis, the session is in its cache too)."""
    import string
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = BACKEND
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store["last_seen"] = time.time()
    store.save()
    alphabet = string.ascii_letters + string.digits
    csrf = "".join(secrets.choice(alphabet) for _ in range(32))
    return f"Cookie: sessionid={store.session_key}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
