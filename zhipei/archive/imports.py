"""Trainees from an Excel sheet: the template, and the check of every row (name, ID number with
its checksum, birth date and minimum age, phone, duplicates in the sheet, conflicts with accounts
already on the platform). Nothing is written here; ``services.trainees_import`` does that."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhipei.accounts.models import (
    Membership,
    TraineeProfile,
    User,
    id_number_index,
    phone_index,
)
from zhipei.core.sheets import SheetError, cell_text, sheet_rows
from zhipei.courses.services import RowError
from zhipei.institutions.models import Institution
from zhipei.lib.idnumber import InvalidIdNumber, parse_id_number
from zhipei.lib.phone import InvalidPhone, normalize_mobile

__all__ = ["RowError", "SheetCheck", "SheetError", "TraineeRow", "trainees_check", "template"]

# The sheet and its columns are found by these names in an uploaded file: they are not
# translated, or sheets filled in before (or in another language) would no longer import.
SHEET_TITLE = "学员"  # i18n: data
COLUMNS = ["姓名", "身份证号", "手机号"]  # i18n: data
# Header spellings people use for the same columns.
ALIASES = {
    "身份证号码": "身份证号",  # i18n: data
    "身份证": "身份证号",  # i18n: data
    "手机号码": "手机号",  # i18n: data
    "手机": "手机号",  # i18n: data
}
MAX_ROWS = 3000
MAX_BYTES = 2 * 1024 * 1024
NAME_MIN, NAME_MAX = 2, 20

# Chinese characters (the basic block, extension A, compatibility ideographs, extensions B–H)
# and the middle dot between the parts of a minority name (买买提·艾力).
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME = re.compile(rf"[{_HAN}]+(?:·[{_HAN}]+)*")
# The dots people type for “·”: ASCII-free look-alikes from several input methods.
_DOTS = str.maketrans({c: "·" for c in "•‧∙・･⋅."})


@dataclass(frozen=True)
class TraineeRow:
    row: int
    name: str
    id_number: str
    phone: str
    existing_id: int | None = None  # a TraineeProfile already on the platform: linked


@dataclass
class SheetCheck:
    good: list[TraineeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    already_members: list[int] = field(default_factory=list)  # row numbers: nothing to do

    @property
    def rows(self) -> int:
        return len(self.good) + len(self.errors) + len(self.already_members)

    @property
    def new(self) -> int:
        return sum(1 for r in self.good if r.existing_id is None)

    @property
    def linked(self) -> int:
        return sum(1 for r in self.good if r.existing_id is not None)


def normalize_name(text: str) -> str:
    """Spaces removed, full-width forms folded, every kind of middle dot made “·”."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).translate(_DOTS)


def name_problem(name: str) -> str | None:
    if not name:
        return _("姓名：不能为空")
    if not NAME_MIN <= len(name) <= NAME_MAX or not _NAME.fullmatch(name):
        return _(
            "姓名：应为 %(min)s–%(max)s 个汉字，少数民族姓名各部分之间用“·”分隔"
            "（不能含字母、数字或其他符号）"
        ) % {"min": NAME_MIN, "max": NAME_MAX}
    return None


@dataclass
class _Parsed:
    row: int
    name: str
    id_number: str | None
    phone: str | None
    problems: list[str]


def _parse_row(n: int, cells: dict[str, Any], today: date) -> _Parsed:
    problems: list[str] = []
    name = normalize_name(cell_text(cells["姓名"]))  # i18n: data
    problem = name_problem(name)
    if problem:
        problems.append(problem)
    number: str | None = None
    raw_id = cells["身份证号"]  # i18n: data
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        # Excel keeps 15 significant digits of a number: an 18-digit ID typed into a number
        # cell has already lost its last digits, so it cannot be trusted even if it parses.
        problems.append(
            _("身份证号：单元格是数字格式，末尾几位可能已丢失；请把该列设为“文本”格式后重新填写")
        )
    elif not cell_text(raw_id):
        problems.append(_("身份证号：不能为空"))
    else:
        try:
            parsed = parse_id_number(cell_text(raw_id), today=today)
        except InvalidIdNumber as exc:
            problems.append(_("身份证号：%(error)s") % {"error": exc})
        else:
            if parsed.age_on(today) < settings.MIN_TRAINEE_AGE:
                age = settings.MIN_TRAINEE_AGE
                problems.append(
                    ngettext(
                        "身份证号：未满%(age)s周岁，须由监护人陪同到培训机构线下办理",
                        "身份证号：未满%(age)s周岁，须由监护人陪同到培训机构线下办理",
                        age,
                    )
                    % {"age": age}
                )
            else:
                number = parsed.number
    phone: str | None = None
    raw_phone = cell_text(cells["手机号"])  # i18n: data
    if not raw_phone:
        problems.append(_("手机号：不能为空"))
    else:
        try:
            phone = normalize_mobile(raw_phone)
        except InvalidPhone as exc:
            problems.append(_("手机号：%(error)s") % {"error": exc})
    return _Parsed(n, name, number, phone, problems)


def _read(data: bytes) -> list[_Parsed]:
    today = timezone.localdate()
    rows = sheet_rows(
        data,
        title=SHEET_TITLE,
        columns=COLUMNS,
        required=COLUMNS,
        max_rows=MAX_ROWS,
        aliases=ALIASES,
    )
    return [_parse_row(n, cells, today) for n, cells in rows]


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def trainees_check(institution: Institution, data: bytes) -> SheetCheck:
    """Every row of the sheet checked, against itself and the platform's accounts.

    A row is good when the person is new (neither ID number nor phone on the platform) or is
    already on the platform under the same ID number and name (then linked, their account
    unchanged). Bad rows carry every reason at once, with their row number as Excel shows it.
    A file that is not an .xlsx, lacks a column or is too long raises SheetError."""
    parsed = _read(data)
    first_id: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for p in parsed:
        if p.id_number is not None:
            if p.id_number in first_id:
                p.problems.append(
                    _("身份证号：与第 %(row)s 行重复") % {"row": first_id[p.id_number]}
                )
            else:
                first_id[p.id_number] = p.row
        if p.phone is not None:
            if p.phone in first_phone:
                p.problems.append(_("手机号：与第 %(row)s 行重复") % {"row": first_phone[p.phone]})
            else:
                first_phone[p.phone] = p.row
    # Accounts already on the platform, found by the blind indexes (in chunks: a query's
    # parameter count is limited).
    id_indexes = {p.id_number: id_number_index(p.id_number) for p in parsed if p.id_number}
    phone_indexes = {p.phone: phone_index(p.phone) for p in parsed if p.phone}
    profiles: dict[str, TraineeProfile] = {}
    for chunk in _chunks(list(id_indexes.values())):
        for profile in TraineeProfile.objects.filter(id_number_index__in=chunk).select_related(
            "user"
        ):
            profiles[profile.id_number_index] = profile
    phone_owner: dict[str, int] = {}
    for chunk in _chunks(list(phone_indexes.values())):
        for index, user_id in User.objects.filter(phone_index__in=chunk).values_list(
            "phone_index", "pk"
        ):
            if index:
                phone_owner[index] = user_id
    members = set(
        Membership.objects.filter(
            institution=institution, trainee_id__in=[p.pk for p in profiles.values()]
        ).values_list("trainee_id", flat=True)
    )
    check = SheetCheck()
    for p in parsed:
        existing = profiles.get(id_indexes[p.id_number]) if p.id_number else None
        if existing is not None and p.name and normalize_name(existing.user.name) != p.name:
            p.problems.append(_("姓名：与该身份证号在平台登记的实名不一致"))
        if p.phone is not None:
            owner = phone_owner.get(phone_indexes[p.phone])
            if owner is not None and (existing is None or owner != existing.user_id):
                p.problems.append(_("手机号：已被平台上的其他账号使用"))
        if p.problems:
            check.errors.append(RowError(p.row, _("；").join(p.problems)))
        elif existing is not None and existing.pk in members:
            check.already_members.append(p.row)
        elif p.id_number is not None and p.phone is not None:  # always, once without problems
            check.good.append(
                TraineeRow(
                    row=p.row,
                    name=p.name,
                    id_number=p.id_number,
                    phone=p.phone,
                    existing_id=existing.pk if existing is not None else None,
                )
            )
    if not check.rows:
        check.errors.append(RowError(2, _("表格中没有学员（从第 2 行起填写，每行一名学员）")))
    return check


# --- the template --------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """The instructions sheet's rows, in the active language (the column names stay as the
    header has them: they are what the import matches)."""
    name, id_number, phone = COLUMNS
    age = settings.MIN_TRAINEE_AGE
    return [
        (_("列"), _("填写说明")),
        (
            name,
            _(
                "学员的真实姓名（必填，%(min)s–%(max)s 个汉字；少数民族姓名用“·”分隔，"
                "如 买买提·艾力）"
            )
            % {"min": NAME_MIN, "max": NAME_MAX},
        ),
        (
            id_number,
            _(
                "18 位居民身份证号（必填；该列已设为文本格式，请勿改为数字格式，否则末尾几位会丢失）"
            ),
        ),
        (phone, _("11 位中国大陆手机号（必填；学员用它接收验证码登录）")),
        ("", ""),
        (
            _("导入规则"),
            ngettext(
                "从“%(sheet)s”表第 2 行起每行一名学员，一次最多 %(max)s 行；",
                "从“%(sheet)s”表第 2 行起每行一名学员，一次最多 %(max)s 行；",
                MAX_ROWS,
            )
            % {"sheet": SHEET_TITLE, "max": MAX_ROWS},
        ),
        (
            "",
            ngettext(
                "未满 %(age)s 周岁的学员须由监护人陪同到机构线下办理，不能导入；",
                "未满 %(age)s 周岁的学员须由监护人陪同到机构线下办理，不能导入；",
                age,
            )
            % {"age": age},
        ),
        ("", _("同一表格中身份证号、手机号都不能重复；手机号不能是平台上其他人的；")),
        ("", _("已在平台注册的学员（身份证号相同且姓名一致）直接加入本机构，其账号和手机号不变；")),
        ("", _("任何一行有误时默认不导入，页面列出每一行的错误；也可以确认“只导入无误的行”；")),
        ("", _("导入的学员首次登录时须阅读并同意《个人信息处理同意书》。")),
    ]


def template() -> bytes:
    """The .xlsx to fill in: a 学员 sheet with the header (ID and phone columns formatted as
    text, so Excel keeps every digit) and a sheet of instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = SHEET_TITLE
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABC", (16, 24, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    for letter in "BC":
        sheet.column_dimensions[letter].number_format = "@"
        # The column style alone is not honoured by every spreadsheet program: format the
        # first rows' cells as text too.
        for row in range(2, 502):
            sheet[f"{letter}{row}"].number_format = "@"
    sheet.freeze_panes = "A2"
    notes = book.create_sheet(_("填写说明"))
    for label, text in _instructions():
        notes.append([label, text])
    notes["A1"].font = notes["B1"].font = Font(bold=True)
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
