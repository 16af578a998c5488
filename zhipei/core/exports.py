"""Tabular exports (csv, xlsx) streamed row by row: a header and an iterator of rows in, an
HTTP response out. CSV starts with a BOM so that Excel opens the Chinese text as UTF-8."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def attachment(data: bytes, filename: str, content_type: str = XLSX_TYPE) -> HttpResponse:
    """A download of ``data`` as ``filename`` (any characters: RFC 6266 encoding)."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# A text cell starting with one of these is a formula to Excel (and WPS): "=HYPERLINK(...)" in a
# course title must reach the bureau's spreadsheet as text, not run.
FORMULA_START = frozenset("=+-@\t\r")
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header included; more rows go on a next sheet


def _inert(row: Sequence[Any]) -> list[Any]:
    return ["'" + v if v.__class__ is str and v[:1] in FORMULA_START else v for v in row]


def csv_lines(header: Sequence[StrOrPromise], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow(_inert(row))


def write_xlsx(
    out: IO[bytes],
    header: Sequence[StrOrPromise],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
    inert: bool = False,
) -> None:
    """Rows go into the workbook as they come (``core.xlsx``: constant memory). More rows than a
    worksheet holds continue on a next sheet, under the same header. ``inert``: the rows' text
    is already neutralised (as ``csv_lines`` would), so they are written as they are."""
    from zhipei.core.xlsx import XlsxWriter

    # Titles and headers may be lazy translations: text from here on.
    title = str(title)
    header = [str(h) for h in header]
    book = XlsxWriter(out)
    book.add_sheet(title[:31])
    book.write_row(header)
    sheet_number, room = 1, XLSX_MAX_ROWS - 1
    write = book.write_row
    for row in rows:
        if not room:
            sheet_number += 1
            book.add_sheet(
                _("%(title)s（%(number)s）") % {"title": title[:26], "number": sheet_number}
            )
            write(header)
            room = XLSX_MAX_ROWS - 1
        write(row if inert else _inert(row))
        room -= 1
    book.close()


def csv_response(
    filename: str, header: Sequence[StrOrPromise], rows: Iterable[Sequence[Any]]
) -> Any:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_response(
    filename: str,
    header: Sequence[StrOrPromise],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Sheet1",
) -> Any:
    """The workbook is spooled to disk as it is written (``write_xlsx``) and streamed from there."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    write_xlsx(spool, header, rows, title=title)
    spool.seek(0)
    response = FileResponse(spool, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def table_response(
    fmt: str,
    filename: str,
    header: Sequence[StrOrPromise],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
) -> Any:
    """The download of a table as ``fmt`` ("csv" or "xlsx"; ``title`` names the sheet)."""
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, header, rows, title=title)
