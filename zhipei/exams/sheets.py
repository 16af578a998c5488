"""The question bank as an Excel sheet: the template, reading a sheet (every bad row listed with
its reason; the caller imports nothing until the sheet is clean), the import, and the export,
written in the template's own format so that an export imports again unchanged."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from zhipei.audit.services import audit_log
from zhipei.core.sheets import SheetError, cell_text, sheet_rows
from zhipei.courses.models import Chapter, Course
from zhipei.courses.services import RowError
from zhipei.exams.models import JUDGE_OPTIONS, Question
from zhipei.exams.services import MAX_OPTIONS, question_clean, question_create
from zhipei.institutions.models import Institution

if TYPE_CHECKING:
    from zhipei.accounts.models import User

__all__ = ["RowError", "SheetError", "questions_from_sheet", "questions_import", "questions_export"]

# The sheet, its columns and the kind and difficulty names written in its cells are what an
# uploaded file is read by: they are not translated, or a sheet filled in before (or under
# another interface language) would no longer import, nor an export import again.
SHEET_TITLE = "试题"  # i18n: data
LETTERS = "ABCDEFGH"[:MAX_OPTIONS]
OPTION_COLUMNS = [f"选项{letter}" for letter in LETTERS]  # i18n: data
COLUMNS = ["题型", "题干", *OPTION_COLUMNS, "答案", "难度", "课程", "章节", "解析"]  # i18n: data
REQUIRED_COLUMNS = ["题型", "题干", "答案"]  # i18n: data
MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
MAX_OPTION_CHARS = 500
MAX_ANALYSIS_CHARS = 2000

# The model's labels as the sheet spells them (the model's own labels follow the interface).
KIND_LABELS: dict[str, str] = {
    Question.Kind.SINGLE.value: "单选题",  # i18n: data
    Question.Kind.MULTIPLE.value: "多选题",  # i18n: data
    Question.Kind.JUDGE.value: "判断题",  # i18n: data
    Question.Kind.FILL.value: "填空题",  # i18n: data
}
_KINDS = {
    **{label: value for value, label in KIND_LABELS.items()},
    **{label[:2]: value for value, label in KIND_LABELS.items()},  # 单选, 多选, 判断, 填空
    **{value: value for value in KIND_LABELS},
}
DIFFICULTY_LABELS: dict[int, str] = {
    Question.Difficulty.EASY.value: "易",  # i18n: data
    Question.Difficulty.MEDIUM.value: "中",  # i18n: data
    Question.Difficulty.HARD.value: "难",  # i18n: data
}
_DIFFICULTIES = {label: value for value, label in DIFFICULTY_LABELS.items()}
_JUDGE_ANSWERS = {
    **{text: 0 for text in ("正确", "对", "√", "TRUE", "T")},  # i18n: data
    **{text: 1 for text in ("错误", "错", "×", "FALSE", "F")},  # i18n: data
}
_BLANK_SPLIT = re.compile(r"[；;\n]")  # i18n: data
_ALTERNATIVE_PIPE = re.compile(r"[|｜]")  # i18n: data
_LETTER_SEPARATORS = re.compile(r"[\s,，、;；]+")  # i18n: data
# Control characters a worksheet cannot hold (openpyxl refuses them).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --- answers as text (the sheet's 答案 column and the console form share these) ------------------


def fill_answer_parse(text: str) -> list[list[str]]:
    """``"50|五十；Hz"`` → ``[["50", "五十"], ["Hz"]]``: blanks separated by "；" (or a new line),
    a blank's accepted answers by "|" or "/". A blank written with "|" is split on "|" only, so an
    answer that itself holds "/" (``r/min``) is written ``r/min|``."""
    blanks = []
    for part in _BLANK_SPLIT.split(text.strip()):
        if not part.strip():
            continue
        splitter = _ALTERNATIVE_PIPE if _ALTERNATIVE_PIPE.search(part) else re.compile("/")
        blanks.append([a.strip() for a in splitter.split(part) if a.strip()])
    return blanks


def fill_answer_format(answer: list[list[str]], blank_separator: str = "；") -> str:  # i18n: data
    """The inverse of ``fill_answer_parse``."""
    blanks = []
    for alternatives in answer:
        text = "|".join(alternatives)
        if len(alternatives) == 1 and "/" in text:
            text += "|"  # read back as one answer, not split on "/"
        blanks.append(text)
    return blank_separator.join(blanks)


def options_parse(cells: list[str]) -> list[str]:
    """The options written in columns A, B, C...: filled from A on with no gap."""
    last = max((n for n, cell in enumerate(cells) if cell), default=-1)
    for n in range(last + 1):
        if not cells[n]:
            raise ValueError(
                _("选项%(letter)s为空：选项应从 A 起连续填写") % {"letter": LETTERS[n]}
            )
        if len(cells[n]) > MAX_OPTION_CHARS:
            raise ValueError(
                _("选项%(letter)s不能超过 %(max)s 字")
                % {"letter": LETTERS[n], "max": MAX_OPTION_CHARS}
            )
    return cells[: last + 1]


def choice_answer_parse(kind: str, text: str, option_count: int) -> list[int]:
    """Option indexes from ``"A"``, ``"AC"``, ``"A,C"`` (choice) or ``"正确"``/``"错误"`` (judge)."""
    text = text.strip().upper()
    if kind == Question.Kind.JUDGE:
        if text not in _JUDGE_ANSWERS:
            raise ValueError(_("判断题的答案应为“正确”或“错误”"))
        return [_JUDGE_ANSWERS[text]]
    letters = _LETTER_SEPARATORS.sub("", text)
    if not letters:
        raise ValueError(_("请填写正确选项的字母，例如 A 或 AC"))
    indexes = []
    for letter in letters:
        if letter not in LETTERS:
            raise ValueError(
                _("“%(letter)s”不是选项字母，答案应写作 A–%(last)s 的字母，例如 A 或 AC")
                % {"letter": letter, "last": LETTERS[-1]}
            )
        if LETTERS.index(letter) >= option_count:
            raise ValueError(
                _("答案 %(letter)s 超出了选项范围（只有 %(count)s 个选项）")
                % {"letter": letter, "count": option_count}
            )
        indexes.append(LETTERS.index(letter))
    return sorted(set(indexes))


def answer_format(question: Question) -> str:
    if question.kind == Question.Kind.FILL:
        return fill_answer_format(question.answer)
    if question.kind == Question.Kind.JUDGE:
        return JUDGE_OPTIONS[question.answer[0]]
    return "".join(LETTERS[i] for i in question.answer)


# --- reading a sheet -----------------------------------------------------------------------------


class _Catalogue:
    """The institution's courses and chapters by name, looked up once per sheet."""

    def __init__(self, institution: Institution) -> None:
        self.courses: dict[str, list[Course]] = {}
        for course in Course.objects.filter(institution=institution):
            self.courses.setdefault(course.title.strip(), []).append(course)
        self.chapters: dict[tuple[int, str], list[Chapter]] = {}
        for chapter in Chapter.objects.filter(course__institution=institution).select_related(
            "course"
        ):
            self.chapters.setdefault((chapter.course_id, chapter.title.strip()), []).append(chapter)

    def find(self, course_name: str, chapter_name: str) -> tuple[Course | None, Chapter | None]:
        if not course_name:
            if chapter_name:
                raise ValueError(_("章节：填写章节时须同时填写所属课程"))
            return None, None
        courses = self.courses.get(course_name, [])
        if not courses:
            raise ValueError(_("课程：本机构没有名为“%(course)s”的课程") % {"course": course_name})
        if len(courses) > 1:
            raise ValueError(
                _("课程：本机构有 %(count)s 门名为“%(course)s”的课程，无法区分")
                % {"count": len(courses), "course": course_name}
            )
        course = courses[0]
        if not chapter_name:
            return course, None
        chapters = self.chapters.get((course.pk, chapter_name), [])
        if not chapters:
            raise ValueError(
                _("章节：课程“%(course)s”中没有名为“%(chapter)s”的章节")
                % {"course": course_name, "chapter": chapter_name}
            )
        if len(chapters) > 1:
            raise ValueError(
                _("章节：课程“%(course)s”中有多个名为“%(chapter)s”的章节")
                % {"course": course_name, "chapter": chapter_name}
            )
        return course, chapters[0]


def _row_question(cells: dict[str, str], catalogue: _Catalogue) -> tuple[dict[str, Any], list[str]]:
    """One row as ``question_create`` arguments, and what is wrong with it."""
    problems: list[str] = []
    kind_name = cells["题型"]  # i18n: data
    kind = _KINDS.get(kind_name)
    if kind is None:
        problems.append(
            _("题型：应为单选题、多选题、判断题或填空题") if kind_name else _("题型：不能为空")
        )
    stem = cells["题干"]  # i18n: data
    if not stem:
        problems.append(_("题干：不能为空"))
    options: list[str] = []
    answer: Any = None
    if kind is not None and stem:
        try:
            if kind == Question.Kind.FILL:
                answer = fill_answer_parse(cells["答案"])  # i18n: data
                if not answer:
                    raise ValueError(_("答案：请填写每个空的答案，例如 50|五十；Hz"))
            else:
                if kind != Question.Kind.JUDGE:
                    options = options_parse([cells[c] for c in OPTION_COLUMNS])
                    if len(options) < 2:
                        raise ValueError(_("选项：选择题至少需要 2 个选项（选项A、选项B）"))
                option_count = len(JUDGE_OPTIONS) if kind == Question.Kind.JUDGE else len(options)
                try:
                    answer = choice_answer_parse(kind, cells["答案"], option_count)  # i18n: data
                except ValueError as exc:
                    raise ValueError(_("答案：%(error)s") % {"error": exc}) from None
            stem, options, answer = question_clean(
                kind=kind, stem=stem, options=options, answer=answer
            )
        except ValueError as exc:
            problems.append(str(exc))
    difficulty = _DIFFICULTIES.get(cells["难度"] or "中")  # i18n: data
    if difficulty is None:
        problems.append(_("难度：应为易、中或难"))
    course = chapter = None
    try:
        course, chapter = catalogue.find(cells["课程"], cells["章节"])  # i18n: data
    except ValueError as exc:
        problems.append(str(exc))
    analysis = cells["解析"]  # i18n: data
    if len(analysis) > MAX_ANALYSIS_CHARS:
        problems.append(_("解析：不能超过 %(max)s 字") % {"max": MAX_ANALYSIS_CHARS})
    question = {
        "kind": kind,
        "stem": stem,
        "options": options,
        "answer": answer,
        "difficulty": difficulty,
        "course": course,
        "chapter": chapter,
        "analysis": analysis,
    }
    return question, problems


def questions_from_sheet(
    institution: Institution, data: bytes
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """The questions of an .xlsx in the template's format, as ``question_create`` arguments, and
    every bad row with its reason (row numbers as Excel shows them). A file that is no .xlsx, has
    no header or holds more than MAX_ROWS questions is refused whole (ValueError)."""
    catalogue = _Catalogue(institution)
    parsed: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for n, raw in sheet_rows(
        data, title=SHEET_TITLE, columns=COLUMNS, required=REQUIRED_COLUMNS, max_rows=MAX_ROWS
    ):
        cells = {name: cell_text(raw.get(name)) for name in COLUMNS}
        question, problems = _row_question(cells, catalogue)
        stem = question["stem"]
        if stem and stem in seen:
            problems.append(_("题干：与第 %(row)s 行重复") % {"row": seen[stem]})
        elif stem:
            seen[stem] = n
        if problems:
            errors.append(RowError(n, _("；").join(problems)))
        else:
            parsed.append((n, question))
    # Stems already in the bank, asked for in chunks (a query's parameter count is limited).
    stems = [q["stem"] for _, q in parsed]
    in_bank: set[str] = set()
    for start in range(0, len(stems), 500):
        in_bank.update(
            Question.objects.filter(
                institution=institution, active=True, stem__in=stems[start : start + 500]
            ).values_list("stem", flat=True)
        )
    found = []
    for n, question in parsed:
        if question["stem"] in in_bank:
            errors.append(RowError(n, _("题干：题库中已有相同题干的题目")))
        else:
            found.append(question)
    errors.sort(key=lambda e: e.row)
    if not found and not errors:
        errors.append(RowError(2, _("表格中没有试题（从第 2 行起填写，每行一道题）")))
    return found, errors


def questions_import(
    *,
    institution: Institution,
    rows: list[dict[str, Any]],
    by: User | None,
    request: HttpRequest | None = None,
) -> int:
    """Create every question of a clean sheet, all or none; returns how many."""
    with transaction.atomic():
        for row in rows:
            question_create(institution=institution, by=by, **row)
        audit_log(
            action="question_bank.import",
            actor=by,
            request=request,
            institution_id=institution.pk,
            detail={"count": len(rows)},
        )
    return len(rows)


# --- writing a sheet -----------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """The template's 填写说明 sheet, in the interface language. The first column names the
    sheet's columns as its header spells them (data: that is what a user finds in the sheet)."""
    return [
        (_("列"), _("填写说明")),
        ("题型", _("单选题、多选题、判断题或填空题（必填）")),  # i18n: data
        ("题干", _("题目内容（必填，不超过 2000 字）；同一题库中题干不能重复")),  # i18n: data
        (
            "选项A–选项H",  # i18n: data
            _("单选题、多选题：从选项A起连续填写 2–8 个选项，选项不能重复；判断题、填空题不填"),
        ),
        (
            "答案",  # i18n: data
            _(
                "单选题填一个字母，如 A；多选题填两个及以上字母，如 AC；判断题填“正确”或“错误”；"
                "填空题按空的顺序填写，各空之间用“；”分隔，同一空的多个可接受答案用“|”或“/”分隔，"
                "如 50|五十；Hz（答案本身含“/”时，用“|”分隔或在末尾加“|”，如 r/min|）"
            ),
        ),
        ("难度", _("易、中或难；不填为“中”")),  # i18n: data
        ("课程", _("本机构已有课程的名称（可不填）")),  # i18n: data
        ("章节", _("该课程中章节的名称（可不填；填写章节须同时填写课程）")),  # i18n: data
        ("解析", _("答案解析（可不填）")),  # i18n: data
        ("", ""),
        (
            _("导入规则"),
            _("从“%(sheet)s”表第 2 行起每行一道题，最多 %(max)s 行；")
            % {"sheet": SHEET_TITLE, "max": MAX_ROWS},
        ),
        ("", _("任何一行有误时整张表都不会导入，页面会列出每一行的错误，改正后重新上传即可")),
        ("", ""),
        (_("示例"), "题型 / 题干 / 选项 / 答案"),  # i18n: data
        # Translators: the examples show what to type in the sheet. Keep the kind names (单选题,
        # 多选题, 判断题, 填空题) and the answers 正确/错误 in Chinese: an import reads them so.
        ("", _("单选题 / 安全电压一般不超过多少伏？ / 36 V、110 V、220 V、380 V / A")),
        # Translators: see the note on the examples above.
        ("", _("多选题 / 下列属于绝缘材料的是？ / 橡胶、铜、陶瓷、铝 / AC")),
        # Translators: see the note on the examples above.
        ("", _("判断题 / 带电作业可以不穿绝缘鞋。 / （不填） / 错误")),
        # Translators: see the note on the examples above.
        ("", _("填空题 / 我国交流电的频率是____赫兹，用字母____表示。 / （不填） / 50|五十；Hz")),
    ]


def _cell(sheet: Any, value: Any, bold: bool = False) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", value) if isinstance(value, str) else value)
    if isinstance(value, str):
        # Text stays text: a stem starting with "=" must not become a formula in Excel.
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _workbook(questions: Iterable[Question]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    widths = {
        "题型": 10,  # i18n: data
        "题干": 48,  # i18n: data
        "答案": 16,  # i18n: data
        "难度": 8,  # i18n: data
        "课程": 20,  # i18n: data
        "章节": 20,  # i18n: data
        "解析": 40,  # i18n: data
    }
    for n, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = widths.get(name, 16)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, name, bold=True) for name in COLUMNS])
    for q in questions:
        options = q.options if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE) else []
        sheet.append(
            [
                _cell(sheet, value)
                for value in [
                    KIND_LABELS[q.kind],
                    q.stem,
                    *(options + [""] * (len(LETTERS) - len(options))),
                    answer_format(q),
                    DIFFICULTY_LABELS.get(q.difficulty, "中"),  # i18n: data
                    q.course.title if q.course else "",
                    q.chapter.title if q.chapter else "",
                    q.analysis,
                ]
            ]
        )
    notes = book.create_sheet(_("填写说明"))
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 100
    for n, (name, text) in enumerate(_instructions()):
        notes.append([_cell(notes, name, bold=n == 0), _cell(notes, text, bold=n == 0)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def questions_template() -> bytes:
    """An empty sheet with the header row and the instructions."""
    return _workbook([])


def questions_export(
    *,
    institution: Institution,
    questions: Any,
    by: User | None,
    request: HttpRequest | None = None,
    filtered: bool = False,
) -> bytes:
    """The given questions of the institution's bank as a sheet that imports again unchanged."""
    questions = questions.filter(institution=institution).select_related("course", "chapter")
    items = list(questions)
    data = _workbook(items)
    audit_log(
        action="question_bank.export",
        actor=by,
        request=request,
        institution_id=institution.pk,
        detail={"count": len(items), "filtered": filtered},
    )
    return data
