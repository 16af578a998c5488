"""Learning-record export throughput and memory: the platform's detail export (学习记录明细) of
1,000,000 ledger rows to csv and to xlsx, against a bare ``csv.writer`` over the same query.

Method (one run):

1. Data. The database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/zhipei_export_bench; created if missing, and dropped at
   the end if this run created it, unless --keep-db) is migrated; one institution, one course
   of 20 lessons, --trainees trainees (real-name profiles, encrypted ID numbers), and study
   sessions spread over 300 days, each with 12 confirmed segments (``StudySegment``) and 8
   uncredited intervals (``UncreditedInterval``, reasons drawn from the ledger's codes) until
   --rows ledger rows exist. Sessions go in with ``bulk_create``, segments and intervals with
   PostgreSQL COPY. --reuse keeps the rows of an earlier --keep-db run.
2. Platform exports. Each in a fresh Python process, so that its peak RSS is its own: the
   detail exporter over the institution and the whole date range, started with
   ``records.services.export_start`` exactly as the console's view starts it (the COUNT that
   decides inline or background, the audit entry, the job; with no Celery broker the job runs
   inline: server-side cursor, csv via ``core.exports.csv_lines`` or the streaming xlsx writer
   ``core.xlsx``, one progress UPDATE per 5,000 rows, the file encrypted with the field keys and
   moved into ``default_storage``).
   ``export_*_rows_per_s`` = rows / wall time of ``export_start`` (count and storage included).
3. Baseline. In a fresh process too: the SQL of the exporter's queryset (Django's own
   compilation, parameters inlined by psycopg) run on a bare psycopg connection, a named
   (server-side) cursor fetching 2,000 rows at a time, written by ``csv.writer.writerows`` to a
   file. The bench checks that the platform's csv as the requester downloads it (decrypted), less
   its BOM and header line, is byte-for-byte the baseline's file (same rows, same columns).
4. Memory. ``export_peak_rss_mb`` is the larger of the two platform processes' peak RSS
   (VmHWM of /proc/self/status at the end, Django and openpyxl imports included);
   ``django_baseline_rss_mb`` is that of a process that only sets Django up, for scale.

Goals: ``csv_to_raw_ratio`` >= 0.7, ``export_peak_rss_mb`` <= 200.

Run: .venv/bin/python bench/export.py [--rows 1000000] [--trainees 500] [--keep-db] [--reuse]
Only name=value lines go to stdout; progress and diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness lives beside this script
    BenchError,
    bench_database,
    database_name,
    log,
    maintenance_connection,
    make_learner,
    report,
    serial_base,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zhipei_export_bench"
INSTITUTION_NAME = "导出基准职业技能培训学校"
SEGMENTS_PER_SESSION = 12
GAPS_PER_SESSION = 8
DAYS = 300
FIRST_DAY = date(2026, 1, 5)
REASONS = ["HIDDEN", "PAUSED", "STALLED", "GAP", "FACE_PENDING", "QUIZ", "IDLE", "REWATCH"]
END_REASONS = ["left", "completed", "idle", "abandoned", "daily_cap"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


# --- data ----------------------------------------------------------------------------------------


def database_exists(url: str) -> bool:
    with maintenance_connection(url) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
        return row is not None


def bench_institution() -> Any:
    from zhipei.institutions.models import Institution

    return Institution.objects.filter(name=INSTITUTION_NAME).first()


def ledger_rows(institution_id: int) -> int:
    from zhipei.study.models import StudySegment, UncreditedInterval

    return (
        StudySegment.objects.filter(session__institution_id=institution_id).count()
        + UncreditedInterval.objects.filter(session__institution_id=institution_id).count()
    )


def create_data(rows: int, trainees: int) -> tuple[int, int]:
    """The institution, course, staff user, trainees and ledger rows; returns (institution id,
    the exporting admin's id)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from zhipei.accounts.models import Role, User
    from zhipei.core.tests.factories import InstitutionFactory
    from zhipei.courses.models import Chapter, Course, Lesson
    from zhipei.study.models import StudySession

    rng = random.Random(20260301)  # noqa: S311 - test data, not secrets
    serial = serial_base()
    with transaction.atomic():
        institution = InstitutionFactory(name=INSTITUTION_NAME)
        admin = User.objects.create(
            username=f"export_admin_{serial}",
            name="导出管理员",
            role=Role.INSTITUTION_ADMIN,
            institution=institution,
        )
        course = Course.objects.create(
            institution=institution,
            title="电工（五级）理论",
            kind=Course.Kind.VOCATIONAL,
            theory_hours=40,
        )
        chapter = Chapter.objects.create(course=course, title="第一章 安全用电")
        lessons = [
            Lesson.objects.create(
                chapter=chapter, title=f"第{n + 1}讲 用电安全要点", duration_seconds=3600
            )
            for n in range(20)
        ]
    log(f"creating {trainees} trainees")
    profiles = []
    for n in range(trainees):
        user = make_learner(institution, serial + 1 + n)
        user.name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        user.save(update_fields=["name"])
        profiles.append(user.trainee_profile)

    per_session = SEGMENTS_PER_SESSION + GAPS_PER_SESSION
    n_sessions = -(-rows // per_session)
    log(f"creating {n_sessions} study sessions")
    tz = timezone.get_current_timezone()
    starts: list[datetime] = []
    batch: list[StudySession] = []
    created: list[int] = []
    for _ in range(n_sessions):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        started = datetime(day.year, day.month, day.day, 8, tzinfo=tz) + timedelta(
            seconds=rng.randrange(12 * 3600)
        )
        starts.append(started)
        batch.append(
            StudySession(
                trainee=rng.choice(profiles),
                lesson=rng.choice(lessons),
                institution=institution,
                device="bench",
                status=StudySession.Status.ENDED,
                end_reason=rng.choice(END_REASONS),
                started_at=started,
                ended_at=started + timedelta(hours=2),
                last_activity_at=started,
            )
        )
        if len(batch) == 5000:
            created += [s.pk for s in StudySession.objects.bulk_create(batch)]
            batch = []
    if batch:
        created += [s.pk for s in StudySession.objects.bulk_create(batch)]

    log(f"copying {rows} segments and uncredited intervals")
    remaining = rows
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(
            "COPY study_studysegment (session_id, started_at, ended_at, from_position,"
            " to_position, seconds) FROM STDIN"
        ) as seg_copy:
            for pk, started in zip(created, starts, strict=True):
                at = started
                position = 0.0
                for _ in range(min(SEGMENTS_PER_SESSION, remaining)):
                    seconds = float(rng.randrange(120, 600)) + rng.random()
                    end = at + timedelta(seconds=seconds)
                    seg_copy.write_row((pk, at, end, position, position + seconds, seconds))
                    at = end + timedelta(seconds=60)
                    position += seconds
                    remaining -= 1
        with raw.copy(
            "COPY study_uncreditedinterval (session_id, started_at, ended_at, seconds, reason)"
            " FROM STDIN"
        ) as gap_copy:
            for pk, started in zip(created, starts, strict=True):
                at = started + timedelta(seconds=5)
                for _ in range(min(GAPS_PER_SESSION, remaining)):
                    seconds = float(rng.randrange(5, 60)) + rng.random()
                    gap_copy.write_row(
                        (pk, at, at + timedelta(seconds=seconds), seconds, rng.choice(REASONS))
                    )
                    at += timedelta(seconds=700)
                    remaining -= 1
        cursor.execute("ANALYZE study_studysession")
        cursor.execute("ANALYZE study_studysegment")
        cursor.execute("ANALYZE study_uncreditedinterval")
    return institution.pk, admin.pk


# --- the measured processes ----------------------------------------------------------------------


def date_range() -> tuple[date, date]:
    return FIRST_DAY, FIRST_DAY + timedelta(days=DAYS)


def peak_rss_mb() -> float:
    """This process's peak RSS since it started (VmHWM). Not getrusage's ru_maxrss: Linux carries
    the parent's high-water mark across fork and exec into it, so every child would report at
    least the parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_setup() -> None:
    import django

    django.setup()


def detail_exporter(institution_id: int) -> Any:
    from zhipei.records.exporters import DetailExporter
    from zhipei.records.selectors import export_scope

    start, end = date_range()
    return DetailExporter(
        export_scope(
            institution_id=institution_id,
            class_id=None,
            course_id=None,
            date_from=start,
            date_to=end,
        )
    )


def file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(1 << 20), b"")


def data_lines_digest(chunks: Iterable[bytes], *, skip_first_line: bool) -> str:
    digest = hashlib.sha256()
    skipping = skip_first_line
    for block in chunks:
        if skipping:
            cut = block.find(b"\n")
            if cut < 0:
                continue
            block, skipping = block[cut + 1 :], False
        digest.update(block)
    return digest.hexdigest()


def child_platform(fmt: str, institution_id: int, user_id: int) -> dict[str, Any]:
    child_setup()
    from django.core.files.storage import default_storage

    from zhipei.accounts.models import User
    from zhipei.records.models import ExportJob
    from zhipei.records.services import export_file_chunks, export_start

    user = User.objects.get(pk=user_id)
    exporter = detail_exporter(institution_id)
    t0 = time.perf_counter()
    estimated = exporter.count()
    count_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    started = export_start(user=user, exporter=exporter, fmt=fmt)
    elapsed = time.perf_counter() - t0
    if started.job is None:
        raise BenchError("the export streamed inline: fewer rows than EXPORT_INLINE_MAX_ROWS")
    job = ExportJob.objects.get(pk=started.job.pk)
    if job.status != ExportJob.Status.DONE:
        raise BenchError(f"export job ended {job.status}: {job.error}")
    result: dict[str, Any] = {
        "rows": job.rows_done,
        "estimated": estimated,
        "seconds": elapsed,
        "count_s": count_s,
        "rss_mb": peak_rss_mb(),
        "bytes": default_storage.size(job.file),
    }
    if fmt == "csv":
        # What the requester downloads: the stored file decrypted.
        result["digest"] = data_lines_digest(export_file_chunks(job), skip_first_line=True)
    default_storage.delete(job.file)
    return result


def child_raw(institution_id: int, out_dir: str) -> dict[str, Any]:
    """A bare csv.writer over the exporter's own SQL, on a plain psycopg connection."""
    child_setup()
    import csv

    import psycopg
    from django.db import connection

    sql, params = detail_exporter(institution_id).queryset().query.sql_with_params()
    settings_dict = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        host=settings_dict["HOST"] or "",
        port=str(settings_dict["PORT"] or ""),
        user=settings_dict["USER"] or "",
        password=settings_dict["PASSWORD"] or "",
        dbname=settings_dict["NAME"],
    )
    with psycopg.connect(conninfo) as conn:
        query = psycopg.ClientCursor(conn).mogrify(sql, params)
        path = os.path.join(out_dir, "raw.csv")
        t0 = time.perf_counter()
        with (
            conn.cursor(name="raw_export") as cursor,
            open(path, "w", encoding="utf-8", newline="") as out,
        ):
            cursor.itersize = 2000
            cursor.execute(query)
            csv.writer(out).writerows(cursor)
            rows = cursor.rownumber or 0
        elapsed = time.perf_counter() - t0
    result = {
        "rows": rows,
        "seconds": elapsed,
        "rss_mb": peak_rss_mb(),
        "bytes": os.path.getsize(path),
        "digest": data_lines_digest(file_chunks(path), skip_first_line=False),
    }
    os.unlink(path)
    return result


def child_idle() -> dict[str, Any]:
    child_setup()
    from zhipei.records import exporters, services  # noqa: F401 - what the exports import

    return {"rss_mb": peak_rss_mb()}


def run_child(kind: str, *extra: str) -> dict[str, Any]:
    proc = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, __file__, "--child", kind, *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"{kind} process failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trainees", type=int, default=500)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="keep the rows of a kept database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--institution", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--user", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    return parser.parse_args()


def child_main(args: argparse.Namespace) -> int:
    if args.child in ("csv", "xlsx"):
        result = child_platform(args.child, args.institution, args.user)
    elif args.child == "raw":
        result = child_raw(args.institution, args.out_dir)
    else:
        result = child_idle()
    print(json.dumps(result))
    return 0


def main() -> int:
    args = parse_args()
    if args.child:
        return child_main(args)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        # A database that was there before the run is kept (pass --keep-db to keep a new one).
        keep = args.keep_db or database_exists(url)
        with bench_database(url, prefix="zhipei-export-bench-", keep=keep) as data_dir:
            # The job runs inline, in the measured process, as it does without a broker.
            os.environ.pop("CELERY_BROKER_URL", None)
            t0 = time.perf_counter()
            setup_django()
            institution = bench_institution()
            if institution is not None and args.reuse:
                from zhipei.accounts.models import User

                institution_id = institution.pk
                admin = User.objects.filter(institution=institution, role="inst_admin").first()
                if admin is None:
                    raise BenchError("the kept institution has no admin: run without --reuse")
                user_id = admin.pk
                log(f"reusing institution {institution_id}")
            else:
                if institution is not None:
                    raise BenchError(
                        "the database already holds a bench run: pass --reuse or drop it"
                    )
                institution_id, user_id = create_data(args.rows, args.trainees)
            rows = ledger_rows(institution_id)
            setup_s = time.perf_counter() - t0
            log(f"{rows} ledger rows ready in {setup_s:.1f} s")
            from django.db import connections

            connections.close_all()

            ids = ["--institution", str(institution_id), "--user", str(user_id)]
            idle = run_child("idle")
            log(f"a process with Django set up: {idle['rss_mb']:.1f} MB")
            log("raw csv.writer")
            raw = run_child("raw", *ids, "--out-dir", data_dir)
            log(f"  {raw['rows']} rows in {raw['seconds']:.2f} s, {raw['rss_mb']:.1f} MB")
            log("platform csv")
            csv_run = run_child("csv", *ids)
            log(
                f"  {csv_run['rows']} rows in {csv_run['seconds']:.2f} s, {csv_run['rss_mb']:.1f} MB"
            )
            log("platform xlsx")
            xlsx_run = run_child("xlsx", *ids)
            log(
                f"  {xlsx_run['rows']} rows in {xlsx_run['seconds']:.2f} s,"
                f" {xlsx_run['rss_mb']:.1f} MB, {xlsx_run['bytes'] / 1e6:.1f} MB file"
            )
            if not raw["rows"] == csv_run["rows"] == xlsx_run["rows"] == rows:
                raise BenchError(
                    f"row counts differ: raw {raw['rows']}, csv {csv_run['rows']},"
                    f" xlsx {xlsx_run['rows']}, database {rows}"
                )
            if raw["digest"] != csv_run["digest"]:
                raise BenchError("the platform's csv rows differ from the bare csv.writer's")
            log("platform csv data lines are byte-for-byte the bare csv.writer's")

            csv_rate = csv_run["rows"] / csv_run["seconds"]
            raw_rate = raw["rows"] / raw["seconds"]
            results = {
                "rows": rows,
                "export_csv_rows_per_s": f"{csv_rate:.0f}",
                "export_xlsx_rows_per_s": f"{xlsx_run['rows'] / xlsx_run['seconds']:.0f}",
                "raw_csv_rows_per_s": f"{raw_rate:.0f}",
                "csv_to_raw_ratio": f"{csv_rate / raw_rate:.3f}",
                "export_peak_rss_mb": f"{max(csv_run['rss_mb'], xlsx_run['rss_mb']):.1f}",
                "export_csv_peak_rss_mb": f"{csv_run['rss_mb']:.1f}",
                "export_xlsx_peak_rss_mb": f"{xlsx_run['rss_mb']:.1f}",
                "raw_csv_peak_rss_mb": f"{raw['rss_mb']:.1f}",
                "django_baseline_rss_mb": f"{idle['rss_mb']:.1f}",
                "export_count_s": f"{csv_run['count_s']:.2f}",
                "export_csv_mb": f"{csv_run['bytes'] / 1e6:.1f}",
                "export_xlsx_mb": f"{xlsx_run['bytes'] / 1e6:.1f}",
                "setup_s": f"{setup_s:.1f}",
            }
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
