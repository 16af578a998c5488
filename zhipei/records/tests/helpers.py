"""Reading exported files back (csv with the csv module, xlsx with openpyxl) and the rows the
database says they must hold, computed independently of the exporters' SQL."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.utils import timezone

from zhipei.study.models import StudySegment, UncreditedInterval


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "csv must start with a BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    sheets = {
        ws.title: [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]
        for ws in book.worksheets
    }
    book.close()
    return sheets


def local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _outcome(session: Any) -> str:
    return session.get_end_reason_display() if session.end_reason else session.get_status_display()


def expected_detail(**filters: Any) -> list[tuple[Any, ...]]:
    """Every segment and uncredited interval matching ``filters`` (on the row's model), as the
    detail export must show it, ordered by session and start."""
    labels = {
        "FACE_PENDING": "等待开始人脸核验",
        "HIDDEN": "页面隐藏或未在前台",
        "PAUSED": "暂停播放",
        "IDLE": "长时间无操作（作废）",
        "RATE": "倍速播放",
        "GAP": "心跳间隔过长",
    }
    related = ("session__trainee__user", "session__lesson__chapter__course")

    def row(item: Any, credited: str, code: str, label: str) -> tuple[Any, ...]:
        s = item.session
        return (
            s.pk,
            s.trainee.user.name,
            s.trainee.id_number_masked,
            s.lesson.chapter.course.title,
            s.lesson.title,
            local(item.started_at),
            local(item.ended_at),
            round(item.seconds, 1),
            credited,
            code,
            label,
            _outcome(s),
        )

    rows = [
        row(seg, "是", "", "")
        for seg in StudySegment.objects.filter(**filters).select_related(*related)
    ]
    rows += [
        # An unknown code is shown as itself.
        row(gap, "否", gap.reason, labels.get(gap.reason, gap.reason))
        for gap in UncreditedInterval.objects.filter(**filters).select_related(*related)
    ]
    return sorted(rows, key=lambda r: (r[0], r[5]))


def as_csv_cells(row: tuple[Any, ...]) -> list[str]:
    """What csv.writer makes of a row: str() of each value, "" for None."""
    return ["" if v is None else str(v) for v in row]


def normalise_seconds(rows: list[list[Any]], column: int) -> list[list[Any]]:
    """Seconds as floats (PostgreSQL's ROUND gives Decimal "600.0", SQLite a float)."""
    return [[*r[:column], float(r[column]), *r[column + 1 :]] for r in rows]
