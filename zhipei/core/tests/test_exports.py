"""Exported text never becomes a spreadsheet formula (CSV and xlsx)."""

import csv
import io

from openpyxl import load_workbook

from zhipei.core.exports import csv_lines, write_xlsx

ROWS = [['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "安全生产", 3, -4.5, ""]]


def test_csv_cells_that_look_like_formulas_stay_text():
    text = "".join(csv_lines(["a", "b", "c", "d", "e", "f", "g", "h"], ROWS))
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert row == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "安全生产",
        "3",
        "-4.5",
        "",
    ]


def test_xlsx_cells_that_look_like_formulas_stay_text():
    out = io.BytesIO()
    write_xlsx(out, ["a"] * 8, ROWS, title="t")
    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    cells = [c for c in sheet[2]]
    assert [c.value for c in cells][:4] == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)"]
    assert all(c.data_type != "f" for c in cells)
    assert cells[5].value == 3 and cells[6].value == -4.5
