"""xlsx writing: the platform's streaming writer (``zhipei.core.xlsx``) beside openpyxl's
write-only workbook, on the same rows in one run.

The rows look like the detail export's (学习记录明细): names, a masked ID number, course and
lesson titles, two local times, seconds, minutes as Decimal, 是/否 and a reason label. Both write
into memory; each writer runs twice, alternating, and its better run counts. Each file is read back
with openpyxl, and the rows read must equal the rows written (times to the second).

Run: .venv/bin/python bench/xlsx.py [--rows 200000]
Only name=value lines go to stdout.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhipei.settings")

HEADER = ["姓名", "身份证号", "课程", "课时", "开始", "结束", "秒", "分钟", "计入", "原因"]


def make_rows(count: int) -> list[tuple[Any, ...]]:
    start = datetime(2026, 1, 1, 8, 0, 0)  # noqa: DTZ001 - local wall times, as exports give
    return [
        (
            f"学员{i % 500}",
            f"3311**********{i % 9999:04d}",
            "电工（五级）",
            f"第{i % 20}课 安全用电",
            start + timedelta(minutes=i),
            start + timedelta(minutes=i, seconds=300),
            300.0,
            Decimal("5.0"),
            "是" if i % 3 else "否",
            "页面隐藏或未在前台" if i % 2 else "",
        )
        for i in range(count)
    ]


def platform(rows: list[tuple[Any, ...]]) -> bytes:
    from zhipei.core.xlsx import XlsxWriter

    out = io.BytesIO()
    book = XlsxWriter(out)
    book.add_sheet("明细")
    book.write_row(HEADER)
    for row in rows:
        book.write_row(row)
    book.close()
    return out.getvalue()


def openpyxl_write_only(rows: list[tuple[Any, ...]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("明细")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_back(data: bytes) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    values = [
        tuple("" if v is None else v for v in row)
        for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)
    ]
    book.close()
    return values


def same(written: list[tuple[Any, ...]], read: list[tuple[Any, ...]]) -> bool:
    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(microsecond=0) + timedelta(seconds=round(value.microsecond / 1e6))
        if isinstance(value, Decimal):
            return float(value)
        return value

    return len(written) == len(read) and all(
        [norm(v) for v in a] == [norm(v) for v in b] for a, b in zip(written, read, strict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    count = parser.parse_args().rows
    import django

    django.setup()
    rows = make_rows(count)
    best: dict[str, float] = {}
    sizes: dict[str, int] = {}
    writers: dict[str, Callable[[list[tuple[Any, ...]]], bytes]] = {
        "xlsx": platform,
        "openpyxl": openpyxl_write_only,
    }
    for _round in range(2):
        for name, write in writers.items():
            started = time.perf_counter()
            data = write(rows)
            seconds = time.perf_counter() - started
            best[name] = min(best.get(name, seconds), seconds)
            sizes[name] = len(data)
            if _round == 0 and not same(rows, read_back(data)):
                print(f"{name}: the rows read back differ from the rows written", file=sys.stderr)
                return 1
    print(f"xlsx_rows_per_s={count / best['xlsx']:.0f}")
    print(f"openpyxl_rows_per_s={count / best['openpyxl']:.0f}")
    print(f"xlsx_to_openpyxl_ratio={best['openpyxl'] / best['xlsx']:.2f}")
    print(f"xlsx_mb={sizes['xlsx'] / 1e6:.1f}")
    print(f"openpyxl_mb={sizes['openpyxl'] / 1e6:.1f}")
    print(f"rows={count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
