"""Each exporter's csv (read with csv) and xlsx (read with openpyxl) compared row by row with
the database, for a class, a date range and a course; institution B never shows up."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from zhipei.core.exports import write_xlsx
from zhipei.exams.selectors import RESULT_HEADER, exam_attempts, result_row
from zhipei.records.exporters import (
    DETAIL_HEADER,
    SUMMARY_HEADER,
    DetailExporter,
    ExportScope,
    Progress,
    ScoresExporter,
    SummaryExporter,
    write_csv,
)
from zhipei.records.tests.helpers import (
    as_csv_cells,
    expected_detail,
    local,
    normalise_seconds,
    read_csv,
    read_xlsx,
)

pytestmark = pytest.mark.django_db


def csv_of(exporter) -> list[list[str]]:
    out = io.StringIO(newline="")
    write_csv(out, exporter.header, exporter.rows())
    return read_csv(out.getvalue().encode())


def xlsx_of(exporter) -> dict[str, list[list[object]]]:
    out = io.BytesIO()
    write_xlsx(out, exporter.header, exporter.rows(), title=exporter.verbose_name)
    return read_xlsx(out.getvalue())


def class_scope(records) -> ExportScope:
    return ExportScope(
        institution_id=records.training_class.institution_id,
        training_class=records.training_class,
    )


# --- 学习记录明细 ---------------------------------------------------------------------------------


def test_detail_csv_matches_the_ledger_rows_of_the_class(records, personas):
    exporter = DetailExporter(class_scope(records))
    expected = expected_detail(
        session__institution=personas.inst_a, started_at__gte=records.day1 - timedelta(hours=1)
    )
    got = csv_of(exporter)
    assert got[0] == DETAIL_HEADER
    assert normalise_seconds(got[1:], 7) == normalise_seconds(
        [as_csv_cells(r) for r in expected], 7
    )
    # 3 sessions in the class: 4 segments and 6 uncredited intervals; the early session and
    # institution B's are not there.
    assert len(got) - 1 == exporter.count() == 10
    assert {r[1] for r in got[1:]} == {"张三", "王五"}
    assert all("GAP" not in r and "创业基础" not in r for r in got)
    # The reason's code and its Chinese label; an unknown code is shown as itself.
    reasons = {(r[9], r[10]) for r in got[1:] if r[8] == "否"}
    assert ("HIDDEN", "页面隐藏或未在前台") in reasons
    assert ("SOMETHING_NEW", "SOMETHING_NEW") in reasons
    # How the session ended, or that it still runs.
    assert {r[11] for r in got[1:]} == {"学员退出", "学习中", "长时间无操作"}
    # Local time to the second.
    first = next(r for r in got[1:] if r[8] == "是")
    assert first[5] == f"{local(records.day1 + timedelta(seconds=30)):%Y-%m-%d %H:%M:%S}"


def test_detail_xlsx_matches_the_database(records, personas):
    exporter = DetailExporter(class_scope(records))
    expected = expected_detail(
        session__institution=personas.inst_a, started_at__gte=records.day1 - timedelta(hours=1)
    )
    sheets = xlsx_of(exporter)
    assert list(sheets) == ["学习记录明细"]
    rows = sheets["学习记录明细"]
    assert rows[0] == DETAIL_HEADER
    assert normalise_seconds(rows[1:], 7) == normalise_seconds([list(r) for r in expected], 7)
    assert isinstance(rows[1][5], datetime)  # a real date cell, not text


def test_detail_by_date_range_and_course(records, personas):
    day = records.early.date()
    scope = ExportScope(institution_id=personas.inst_a.pk, date_from=day, date_to=day)
    got = csv_of(DetailExporter(scope))[1:]
    expected = expected_detail(
        session__institution=personas.inst_a, started_at__date__lte=day, started_at__date__gte=day
    )
    assert len(got) == 2 == len(expected)
    assert normalise_seconds(got, 7) == normalise_seconds([as_csv_cells(r) for r in expected], 7)

    from zhipei.courses.models import Course

    other = Course.objects.create(institution=personas.inst_a, title="焊工", kind="vocational")
    scope = ExportScope(institution_id=personas.inst_a.pk, course=other, date_from=day, date_to=day)
    assert csv_of(DetailExporter(scope)) == [DETAIL_HEADER]


def test_detail_rows_are_one_query(records, django_assert_num_queries):
    exporter = DetailExporter(class_scope(records))
    with django_assert_num_queries(1):
        rows = list(exporter.rows())
    assert len(rows) == 10
    assert all(isinstance(r, tuple) for r in rows)  # plain tuples, no model instances


# --- 学习记录汇总 ---------------------------------------------------------------------------------


def test_summary_of_a_class(records):
    got = csv_of(SummaryExporter(class_scope(records)))
    assert got[0] == SUMMARY_HEADER
    day1 = local(records.day1)
    assert (
        got[1:]
        == [
            [
                "张三",
                records.zhang.id_number_masked,
                "电工（五级）第一期",
                "电工基础",
                "0.36",  # (600 + 240 + 120) s / 45 min; the session before the class is not counted
                "0.36",
                "1.0",
                "否",
                "1",
                "2",
                f"{day1:%Y-%m-%d %H:%M:%S}",
                f"{day1 + timedelta(days=1, minutes=50):%Y-%m-%d %H:%M:%S}",  # the running one's last beat
                "1.6",  # 30 + 42.4 + 13.37 + 10 s
                "页面隐藏或未在前台 0.7；暂停播放 0.2；等待开始人脸核验 0.7",
                "2",
                "1",
                "80.5",
                "是",
            ],
            [
                "王五",
                records.wang.id_number_masked,
                "电工（五级）第一期",
                "电工基础",
                "0.07",
                "0.07",
                "1.0",
                "否",
                "0",
                "1",
                f"{day1 + timedelta(hours=2):%Y-%m-%d %H:%M:%S}",
                f"{day1 + timedelta(hours=3):%Y-%m-%d %H:%M:%S}",
                "5.1",
                "长时间无操作（作废） 5.0；SOMETHING_NEW 0.1",
                "0",
                "0",
                "",  # the only attempt was void (face checks failed)
                "",
            ],
        ]
    )


def test_summary_xlsx_matches_csv(records):
    exporter = SummaryExporter(class_scope(records))
    rows = xlsx_of(exporter)["学习记录汇总"]
    assert rows[0] == SUMMARY_HEADER
    assert [r[0] for r in rows[1:]] == ["张三", "王五"]
    assert rows[1][4] == pytest.approx(0.36) and rows[1][16] == pytest.approx(80.5)
    assert rows[1][10] == local(records.day1)
    assert exporter.count() == 2


def test_summary_by_date_range_without_class(records, personas):
    day = records.early.date()
    scope = ExportScope(institution_id=personas.inst_a.pk, date_from=day, date_to=day)
    got = csv_of(SummaryExporter(scope))
    assert [r[0] for r in got[1:]] == ["张三"]
    row = got[1]
    assert row[2] == "电工（五级）第一期"  # the trainee's classes in the institution
    assert row[4] == "0.03"  # 90 s
    assert row[6] == row[7] == ""  # no class, no course: no requirement
    assert row[9] == "1"
    assert row[13] == "倍速播放 0.3"
    assert row[16] == ""  # no exam that day


# --- 考试成绩 -------------------------------------------------------------------------------------


def test_scores_match_the_results_page_rows(records, personas):
    exporter = ScoresExporter(class_scope(records))
    attempts = exam_attempts(personas.inst_a.pk).filter(exam=records.exam)
    expected = [result_row(a) for a in attempts]
    assert len(expected) == 3
    got = csv_of(exporter)
    assert got[0] == RESULT_HEADER
    assert got[1:] == [as_csv_cells(tuple(r)) for r in expected]
    rows = xlsx_of(exporter)["考试成绩"]
    assert rows[1:] == [["" if v is None else v for v in r] for r in expected]
    # A date range without the exam's days: nothing.
    day = records.early.date()
    scope = ExportScope(institution_id=personas.inst_a.pk, date_from=day, date_to=day)
    assert ScoresExporter(scope).count() == 0


# --- writing ---------------------------------------------------------------------------------------


def test_progress_reports_every_n_rows_and_the_total():
    seen: list[int] = []
    progress = Progress(([i] for i in range(12)), report=seen.append, every=5)
    assert [r[0] for r in progress] == list(range(12))
    assert seen == [5, 10, 12]
    assert progress.done == 12


def test_xlsx_continues_on_a_next_sheet_when_one_is_full(monkeypatch):
    from zhipei.core import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 4)  # header + 3 rows per sheet
    out = io.BytesIO()
    write_xlsx(out, ["n"], ([i] for i in range(7)), title="明细")
    sheets = read_xlsx(out.getvalue())
    assert list(sheets) == ["明细", "明细（2）", "明细（3）"]
    assert sheets["明细"] == [["n"], [0], [1], [2]]
    assert sheets["明细（3）"] == [["n"], [6]]


def test_detail_text_that_looks_like_a_formula_is_made_inert_by_the_database(records, personas):
    """The detail export neutralises formula-like text in SQL (a million rows need no Python
    step each): the same text as the generic writers produce, in csv and in xlsx."""
    from zhipei.courses.models import Course, Lesson

    Course.objects.filter(pk=personas.course.pk).update(title='=HYPERLINK("http://x")')
    Lesson.objects.filter(chapter__course=personas.course).update(title="+1 第一讲")
    exporter = DetailExporter(class_scope(records))
    assert exporter.rows_are_inert
    rows = list(exporter.rows())
    assert rows and {r[3] for r in rows} == {'\'=HYPERLINK("http://x")'}
    assert {r[4] for r in rows} == {"'+1 第一讲"}
    assert all(not r[1].startswith("'") for r in rows)  # a plain name is left alone

    fast, generic = io.StringIO(newline=""), io.StringIO(newline="")
    write_csv(fast, exporter.header, exporter.rows(), inert=True)
    write_csv(generic, exporter.header, exporter.rows())
    assert fast.getvalue() == generic.getvalue()  # no second apostrophe either way
    assert read_csv(fast.getvalue().encode())[1][3] == '\'=HYPERLINK("http://x")'

    out = io.BytesIO()
    write_xlsx(out, exporter.header, exporter.rows(), title="明细", inert=True)
    assert read_xlsx(out.getvalue())["明细"][1][3] == '\'=HYPERLINK("http://x")'
