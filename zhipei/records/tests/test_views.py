"""The console's 学习记录导出: bad filters refused with a clear Chinese message, another
institution's class a 404, small exports streamed at once, large ones as a job (run inline)
whose file only its requester may download until it expires, then purged; all audited."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from zhipei.audit.models import AuditEntry
from zhipei.courses.models import TrainingClass
from zhipei.lib.crypto import is_encrypted_stream
from zhipei.records.exporters import DETAIL_HEADER, EXPORTERS
from zhipei.records.models import ExportJob
from zhipei.records.services import export_file_chunks, exports_purge
from zhipei.records.tests.helpers import (
    as_csv_cells,
    expected_detail,
    normalise_seconds,
    read_csv,
    read_xlsx,
)

pytestmark = pytest.mark.django_db

START = reverse("console:export_start")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def post(user, **data):
    return client_for(user).post(START, data)


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"exporter": "detail", "format": "csv"}, "请选择培训班，或填写开始和结束日期"),
        ({"exporter": "nonsense", "format": "csv", "training_class": "1"}, "导出内容："),
        ({"exporter": "detail", "format": "pdf", "training_class": "1"}, "格式："),
        (
            {"exporter": "detail", "format": "csv", "training_class": "abc"},
            "培训班：请从列表中选择",
        ),
        ({"exporter": "detail", "format": "csv", "training_class": "-3"}, "培训班："),
        ({"exporter": "detail", "format": "csv", "training_class": "9" * 30}, "培训班："),
        ({"exporter": "detail", "format": "csv", "course": "1; DROP TABLE"}, "课程："),
        (
            {"exporter": "detail", "format": "csv", "date_from": "2026-13-45", "date_to": "x"},
            "开始日期：",
        ),
        (
            {
                "exporter": "detail",
                "format": "csv",
                "date_from": "2026-03-01",
                "date_to": "2026-02-01",
            },
            "结束日期不能早于开始日期",
        ),
        (
            {
                "exporter": "detail",
                "format": "csv",
                "date_from": "2025-01-01",
                "date_to": "2026-06-01",
            },
            "一次最多导出 366 天的记录",
        ),
        (
            {
                "exporter": "detail",
                "format": "csv",
                "date_from": "0001-01-01",
                "date_to": "0001-01-02",
            },
            "日期须在",
        ),
        (
            {
                "exporter": "detail",
                "format": "csv",
                "date_from": "9999-12-30",
                "date_to": "9999-12-31",
            },
            "日期须在",
        ),
        (
            {"exporter": "detail", "format": "csv", "date_from": "2026-03-01"},
            "请同时填写开始和结束日期",
        ),
    ],
)
def test_nonsense_filters_are_a_form_error(personas, data, message):
    response = post(personas.admin, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ExportJob.objects.exists()
    assert not AuditEntry.objects.filter(action="records.export").exists()


def test_a_whole_leap_year_is_allowed(records, personas):
    response = post(
        personas.admin,
        exporter="detail",
        format="csv",
        date_from="2024-01-01",
        date_to="2024-12-31",
    )
    assert response.status_code == 200


def other_institutions_class(personas) -> TrainingClass:
    return TrainingClass.objects.create(
        institution=personas.inst_b,
        name="创业班",
        kind="entrepreneurship",
        start_date="2026-01-01",
        end_date="2026-02-01",
        required_xueshi=10,
    )


def test_another_institutions_class_or_course_is_a_404(records, personas):
    class_b = other_institutions_class(personas)
    for data in (
        {"training_class": class_b.pk},
        {"training_class": 987654},
        {"course": records.course.pk, "date_from": "2026-01-01", "date_to": "2026-01-31"},
    ):
        user = personas.other_admin if "course" in data else personas.admin
        response = post(user, exporter="detail", format="csv", **data)
        assert response.status_code == 404
        assert "创业班" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="records.export").exists()


# --- small exports stream at once ----------------------------------------------------------------


def test_small_detail_export_streams_csv_and_xlsx(records, personas):
    expected = expected_detail(
        session__institution=personas.inst_a, started_at__gte=records.day1 - timedelta(hours=1)
    )
    cls = records.training_class.pk
    response = post(personas.instructor, exporter="detail", format="csv", training_class=cls)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(body(response))
    assert rows[0] == DETAIL_HEADER
    assert normalise_seconds(rows[1:], 7) == normalise_seconds(
        [as_csv_cells(r) for r in expected], 7
    )

    response = post(personas.instructor, exporter="detail", format="xlsx", training_class=cls)
    sheet = read_xlsx(body(response))["学习记录明细"]
    assert normalise_seconds(sheet[1:], 7) == normalise_seconds([list(r) for r in expected], 7)

    entries = AuditEntry.objects.filter(action="records.export").order_by("id")
    assert [e.detail["format"] for e in entries] == ["csv", "xlsx"]
    detail = entries[0].detail
    assert detail["exporter"] == "detail"
    assert detail["rows"] == 10
    assert detail["mode"] == "inline"
    assert detail["filters"] == {"class": cls, "course": None, "from": None, "to": None}
    logged = json.dumps([e.detail for e in entries], ensure_ascii=False)
    assert "张三" not in logged and records.zhang.id_number_masked not in logged
    assert not ExportJob.objects.exists()


def test_summary_and_scores_export_through_the_view(records, personas):
    cls = records.training_class.pk
    rows = read_csv(
        body(post(personas.admin, exporter="summary", format="csv", training_class=cls))
    )
    assert [r[0] for r in rows[1:]] == ["张三", "王五"]
    rows = read_csv(body(post(personas.admin, exporter="scores", format="csv", training_class=cls)))
    assert [(r[0], r[4]) for r in rows[1:]] == [("张三", "1"), ("张三", "2"), ("王五", "1")]


def test_exports_page_lists_only_my_jobs(records, personas):
    mine = ExportJob.objects.create(
        institution=personas.inst_a, requested_by=personas.admin, exporter="detail", format="csv"
    )
    ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.instructor,
        exporter="summary",
        format="xlsx",
    )
    page = client_for(personas.admin).get(reverse("console:exports"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("console:export_job", args=[mine.pk]) in html
    assert len(re.findall(r'href="/console/records/exports/\d+/"', html)) == 1
    assert records.training_class.name in html  # the class list of the form
    # What each export holds, and the job's kind (the exporter classes are callable: the
    # template must read their attributes, not call them).
    for exporter in EXPORTERS.values():
        assert f"<strong>{exporter.verbose_name}</strong>：{exporter.description}" in html
    assert f"<td>{EXPORTERS['detail'].verbose_name}</td>" in html


# --- large exports run as a job --------------------------------------------------------------------


@pytest.fixture
def big(settings):
    """Every export counts as large: it becomes a job (run inline, no broker)."""
    settings.EXPORT_INLINE_MAX_ROWS = 0
    settings.EXPORT_LINK_HOURS = 24


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_job_flow(big, records, personas, fmt, django_capture_on_commit_callbacks):
    expected = expected_detail(
        session__institution=personas.inst_a, started_at__gte=records.day1 - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            personas.admin, exporter="detail", format=fmt, training_class=records.training_class.pk
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:export_job", args=[job.pk])
    assert job.status == ExportJob.Status.DONE
    assert job.rows_done == job.rows_total == 10
    assert job.file.startswith(f"exports/{personas.inst_a.pk}/")
    assert job.expires_at - job.finished_at == timedelta(hours=24)
    # At rest the file is encrypted: neither the header nor a trainee's name is readable.
    with default_storage.open(job.file, "rb") as stored:
        raw = stored.read()
    assert is_encrypted_stream(raw)
    assert "会话编号".encode() not in raw and personas.trainee.name.encode() not in raw

    admin = client_for(personas.admin)
    page = admin.get(response["Location"])
    assert page.status_code == 200
    assert b"<progress" in page.content and b"exports.js" in page.content
    status = admin.get(reverse("console:export_job_status", args=[job.pk])).json()
    assert status["status"] == "done"
    assert status["percent"] == 100
    assert status["rows_done"] == status["rows_total"] == 10
    url = reverse("console:export_download", args=[job.pk])
    assert status["download_url"] == url

    download = admin.get(url)
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    data = body(download)
    if fmt == "csv":
        rows = read_csv(data)
        cells = [as_csv_cells(r) for r in expected]
    else:
        rows = read_xlsx(data)["学习记录明细"]
        cells = [list(r) for r in expected]
    assert rows[0] == DETAIL_HEADER
    assert normalise_seconds(rows[1:], 7) == normalise_seconds(cells, 7)

    # Nobody else: a colleague of the same institution, another institution's admin.
    for other in (personas.instructor, personas.other_admin):
        for name in ("console:export_job", "console:export_job_status", "console:export_download"):
            assert client_for(other).get(reverse(name, args=[job.pk])).status_code == 404

    # After expiry: 410 with a Chinese page, and the refusal is audited.
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = admin.get(url)
    assert gone.status_code == 410
    assert "下载链接已过期" in gone.content.decode()
    status = admin.get(reverse("console:export_job_status", args=[job.pk])).json()
    assert status["expired"] is True and status["download_url"] is None

    # The purge deletes the file; the job stays as the record of what was exported.
    assert default_storage.exists(job.file)
    assert exports_purge() == 1
    assert not default_storage.exists(job.file)
    job.refresh_from_db()
    assert job.file == ""
    assert admin.get(url).status_code == 410

    actions = list(
        AuditEntry.objects.filter(action__startswith="records.")
        .order_by("id")
        .values_list("action", "result")
    )
    assert actions == [
        ("records.export", "success"),
        ("records.export_download", "success"),
        ("records.export_download", "denied"),
        ("records.export_download", "denied"),
    ]
    started = AuditEntry.objects.get(action="records.export")
    assert started.detail["mode"] == "job" and started.detail["job"] == job.pk
    assert started.detail["rows"] == 10


def test_a_stored_file_serves_only_its_own_job(
    big, records, personas, django_capture_on_commit_callbacks
):
    """A file copied onto another job (or changed) is refused, audited, never served; a file
    stored before exports were encrypted still downloads."""
    with django_capture_on_commit_callbacks(execute=True):
        for _round in range(2):
            response = post(
                personas.admin,
                exporter="detail",
                format="csv",
                training_class=records.training_class.pk,
            )
            assert response.status_code == 302
    first, second = ExportJob.objects.order_by("pk")
    ExportJob.objects.filter(pk=second.pk).update(file=first.file)
    admin = client_for(personas.admin)
    refused = admin.get(reverse("console:export_download", args=[second.pk]))
    assert refused.status_code == 410
    denied = AuditEntry.objects.filter(action="records.export_download").latest("id")
    assert denied.result == "denied" and denied.detail["refused"] == "damaged"

    # A plain file where an encrypted one belongs (every file written now is "….enc"): refused.
    swapped = default_storage.save(
        f"exports/{personas.inst_a.pk}/swapped.csv.enc", ContentFile(b"a,b\r\n")
    )
    ExportJob.objects.filter(pk=second.pk).update(file=swapped)
    assert admin.get(reverse("console:export_download", args=[second.pk])).status_code == 410

    legacy = default_storage.save(f"exports/{personas.inst_a.pk}/old.csv", ContentFile(b"a,b\r\n"))
    ExportJob.objects.filter(pk=second.pk).update(file=legacy)
    assert body(admin.get(reverse("console:export_download", args=[second.pk]))) == b"a,b\r\n"
    plain = body(admin.get(reverse("console:export_download", args=[first.pk])))
    assert plain.startswith("\ufeff".encode()) and "会话编号".encode() in plain
    # A download that never starts still closes the stored file.
    first.refresh_from_db()
    download = export_file_chunks(first)
    download.close()
    assert download._stored.closed


def test_job_progress_is_written_while_it_runs(big, records, personas, monkeypatch):
    """One UPDATE of rows_done per PROGRESS_EVERY rows (here 3), and the total at the end."""
    from zhipei.records import exporters, services

    monkeypatch.setattr(exporters, "PROGRESS_EVERY", 3)
    seen: list[int] = []
    report = services._report

    def spy(job_id: int, rows_done: int) -> None:
        report(job_id, rows_done)
        seen.append(ExportJob.objects.get(pk=job_id).rows_done)

    monkeypatch.setattr(services, "_report", spy)
    job = ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.admin,
        exporter="detail",
        format="csv",
        params={"class": records.training_class.pk},
        rows_total=10,
    )
    services.export_job_run(job_id=job.pk)
    assert seen == [3, 6, 9, 10]
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total) == ("done", 10, 10)
    # A second delivery of the same task does nothing.
    assert services.export_job_run(job_id=job.pk) is None


def test_a_job_whose_scope_is_not_its_institutions_fails_cleanly(records, personas):
    from zhipei.records.services import export_job_run

    class_b = other_institutions_class(personas)
    job = ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.admin,
        exporter="detail",
        format="xlsx",
        params={"class": class_b.pk},
    )
    job = export_job_run(job_id=job.pk)
    assert job is not None
    assert job.status == ExportJob.Status.FAILED
    assert job.error == "导出范围已不存在，请重新导出"
    assert job.file == ""
    response = client_for(personas.admin).get(reverse("console:export_download", args=[job.pk]))
    assert response.status_code == 409
    assert "导出失败" in response.content.decode()


def test_purge_command_and_stale_jobs(personas, capsys):
    now = timezone.now()
    name = default_storage.save("exports/old.csv", ContentFile(b"x"))
    expired = ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.admin,
        exporter="detail",
        format="csv",
        status="done",
        file=name,
        finished_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
    )
    stuck = ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.admin,
        exporter="detail",
        format="csv",
        status="running",
        created_at=now - timedelta(days=3),
    )
    call_command("exports_purge")
    assert "deleted=1" in capsys.readouterr().out
    assert not default_storage.exists(name)
    expired.refresh_from_db()
    stuck.refresh_from_db()
    assert expired.file == ""
    assert stuck.status == "failed" and stuck.error
