"""The streaming xlsx writer: what goes in comes back out of a spreadsheet reader, typed."""

import io
import zipfile
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from zhipei.core.xlsx import XlsxWriter, sheet_title


def workbook(build) -> tuple[bytes, object]:
    out = io.BytesIO()
    book = XlsxWriter(out)
    build(book)
    book.close()
    data = out.getvalue()
    return data, load_workbook(io.BytesIO(data))


def test_values_keep_their_types(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    aware = datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
    wall = datetime(2026, 11, 30, 9, 30, 15)  # noqa: DTZ001 - local wall time, as exporters give
    midnight = datetime(2026, 1, 31)  # noqa: DTZ001 - openpyxl reads a date cell as this
    row = [
        "张三 <&> \"引号\" 'x'",
        "  前后空格  ",
        "控制\x00字符\x1f",
        42,
        -4.5,
        Decimal("12.25"),
        True,
        wall,
        aware,
        date(2026, 1, 31),
        time(8, 5, 59),
        None,
        "",
        gettext_lazy("学习记录明细"),
    ]

    def build(book):
        book.add_sheet("明细")
        book.write_row(["a"] * len(row))
        book.write_row(row)

    _, wb = workbook(build)
    cells = list(wb.active.iter_rows(min_row=2, values_only=True))[0]
    assert cells[0] == "张三 <&> \"引号\" 'x'"
    assert cells[1] == "  前后空格  "
    assert cells[2] == "控制字符"  # XML cannot carry control characters: dropped
    assert cells[3] == 42 and cells[4] == -4.5 and cells[5] == 12.25
    assert cells[6] is True
    assert cells[7] == wall
    assert cells[8] == timezone.localtime(aware).replace(tzinfo=None)  # local wall time
    assert cells[9] == midnight  # a date cell
    assert cells[10] == time(8, 5, 59)
    assert cells[11] is None and cells[12] is None
    assert cells[13] == "学习记录明细"


def test_sheets_titles_and_the_frozen_header():
    def build(book):
        book.add_sheet("成绩[2026]:*?/\\")
        book.write_row(["姓名", "分数"])
        book.add_sheet("成绩[2026]:*?/\\")  # the same name again
        book.write_row(["x"])
        book.add_sheet("一个非常长的工作表名称" * 5)

    data, wb = workbook(build)
    assert wb.sheetnames == [
        "成绩_2026______",
        "成绩_2026______ (2)",
        ("一个非常长的工作表名称" * 5)[:31],
    ]
    assert wb.worksheets[0].freeze_panes == "A2"
    assert list(wb.worksheets[0].values) == [("姓名", "分数")]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "[Content_Types].xml" in names and "xl/worksheets/sheet3.xml" in names


def test_an_empty_workbook_still_has_a_sheet_and_rows_need_one():
    out = io.BytesIO()
    book = XlsxWriter(out)
    with pytest.raises(ValueError, match="add_sheet"):
        book.write_row(["x"])
    book.close()
    assert load_workbook(io.BytesIO(out.getvalue())).sheetnames == ["Sheet"]
    assert sheet_title("") == "Sheet" and sheet_title("'引号'") == "引号"


def test_a_full_sheet_refuses_more_rows(monkeypatch):
    from zhipei.core import xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 2)
    book = XlsxWriter(io.BytesIO())
    book.add_sheet("t")
    book.write_row(["h"])
    book.write_row([1])
    with pytest.raises(ValueError, match="at most"):
        book.write_row([2])


def test_many_columns_get_spreadsheet_letters():
    def build(book):
        book.add_sheet("宽表")
        book.write_row(list(range(30)))

    _, wb = workbook(build)
    sheet = wb.active
    assert sheet["Z1"].value == 25 and sheet["AA1"].value == 26 and sheet["AD1"].value == 29


def test_rows_keep_their_width_when_they_end_empty():
    def build(book):
        book.add_sheet("t")
        book.write_row(["a", "b", "c"])
        book.write_row(["x", None, ""])

    data, _ = workbook(build)
    streamed = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert list(streamed.iter_rows(values_only=True)) == [("a", "b", "c"), ("x", None, None)]


def test_values_a_spreadsheet_cannot_hold_as_numbers_become_text():
    """NaN and infinite Decimals (PostgreSQL numerics can hold NaN), and dates before March
    1900 (Excel's serials are off by its phantom 29 February 1900, and none exist before 1900)."""
    early = date(1900, 2, 28)

    def build(book):
        book.add_sheet("t")
        book.write_row(["a"] * 5)
        book.write_row(
            [Decimal("NaN"), Decimal("Infinity"), early, date(1900, 3, 1), Decimal("1E+2")]
        )

    _, wb = workbook(build)
    cells = list(wb.active.iter_rows(min_row=2, values_only=True))[0]
    assert cells[0] == "NaN" and cells[1] == "Infinity"
    assert cells[2] == "1900-02-28"
    assert cells[3].date() == date(1900, 3, 1) and cells[4] == 100
