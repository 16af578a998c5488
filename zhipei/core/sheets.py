"""Reading an uploaded Excel sheet: rows of cells under a header row (question and trainee
imports). The whole file is refused (SheetError, a Chinese message) when it is no .xlsx, lacks a
column, is damaged, or holds too many rows; each row's own mistakes are the caller's to list."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

NOT_XLSX = gettext_lazy(
    "无法读取该文件：请上传 .xlsx 格式的 Excel 文件（可先下载模板，在模板中填写）"
)


class SheetError(ValueError):
    """The whole file is refused (not an .xlsx, no header, too many rows)."""


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: a whole number typed into Excel is ``50``, not
    ``50.0``; nothing is ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def sheet_rows(
    data: bytes,
    *,
    title: str,
    columns: Sequence[str],
    required: Sequence[str],
    max_rows: int,
    aliases: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number as Excel shows it, {column: raw cell value})`` for every row that is not
    empty, from the sheet named ``title`` (else the first). Header cells are matched without
    spaces, through ``aliases``; a column of ``columns`` missing from the sheet is absent from the
    dicts. More than ``max_rows`` rows (or ten times as many scanned, for sheets padded with
    formatted blank rows) refuse the file."""
    from openpyxl import load_workbook

    too_many = ngettext(
        "表格超过 %(rows)s 行，请分批导入", "表格超过 %(rows)s 行，请分批导入", max_rows
    ) % {"rows": max_rows}
    if not data.startswith(b"PK"):  # every .xlsx is a zip archive
        raise SheetError(str(NOT_XLSX))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file
        raise SheetError(str(NOT_XLSX)) from exc
    try:
        rows = _cells(book, title)
        header = [cell_text(c).replace(" ", "") for c in next(rows, ())]
        header = [(aliases or {}).get(name, name) for name in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise SheetError(
                _("第 1 行应为表头，缺少“%(columns)s”列：请使用下载的模板填写")
                % {"columns": "”“".join(str(c) for c in missing)}
            )
        index = {name: header.index(name) for name in columns if name in header}
        kept = 0
        for n, row in enumerate(rows, start=2):
            if n > 10 * max_rows:
                raise SheetError(too_many)
            cells = {name: row[i] if i < len(row) else None for name, i in index.items()}
            if all(cell_text(v) == "" for v in cells.values()):
                continue
            kept += 1
            if kept > max_rows:
                raise SheetError(too_many)
            yield n, cells
    finally:
        book.close()


def _cells(book: Any, title: str) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows of values; a sheet damaged part-way refuses the file there."""
    try:
        sheet = book[title] if title in book.sheetnames else book.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    except Exception as exc:
        raise SheetError(str(NOT_XLSX)) from exc
