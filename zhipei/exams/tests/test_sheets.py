"""The question bank as Excel: every bad row reported and nothing imported, a clean sheet
imported whole, and export → import giving back the same questions."""

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from zhipei.audit.models import AuditEntry
from zhipei.courses.models import Chapter, Course
from zhipei.exams import services, sheets
from zhipei.exams.models import Question

pytestmark = pytest.mark.django_db


def xlsx(rows, header=None) -> bytes:
    """A sheet in the template's format; each row a dict of column name → cell value."""
    header = header or sheets.COLUMNS
    book = Workbook()
    sheet = book.active
    sheet.title = "试题"
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(name) for name in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def options(*texts):
    return {f"选项{letter}": text for letter, text in zip(sheets.LETTERS, texts, strict=False)}


@pytest.fixture
def chapter(personas):
    return Chapter.objects.create(course=personas.course, title="第一章 安全用电")


def test_every_kind_of_mistake_is_reported_by_row_and_nothing_is_imported(personas, bank, chapter):
    good = {
        "题型": "单选题",
        "题干": "触电急救第一步？",
        **options("切断电源", "直接拉人"),
        "答案": "A",
    }
    rows = [
        {"题型": "问答题", "题干": "什么是电？", "答案": "A"},  # 2
        {"题型": "单选题", "题干": "", **options("是", "否"), "答案": "A"},  # 3
        {"题型": "单选题", "题干": "只有一个选项？", **options("唯一"), "答案": "A"},  # 4
        {"题型": "单选题", "题干": "答案超出选项？", **options("甲", "乙", "丙"), "答案": "D"},  # 5
        {
            "题型": "多选题",
            "题干": "多选只有一个答案？",
            **options("甲", "乙", "丙"),
            "答案": "B",
        },  # 6
        {**good, "题干": "未知课程？", "课程": "焊工基础"},  # 7
        {**good, "题干": "未知章节？", "课程": "电工基础", "章节": "第九章"},  # 8
        {**good, "题干": "难度写错？", "难度": "很难"},  # 9
        good,  # 10: right, yet not imported while other rows are wrong
        good,  # 11: the same stem again
        {**good, "题干": "安全电压一般不超过多少伏？"},  # 12: already in the bank
        {"题型": "判断题", "题干": "判断题答案写错？", "答案": "是"},  # 13
        {"题型": "填空题", "题干": "填空没有答案____", "答案": "；"},  # 14
        {
            "题型": "单选题",
            "题干": "选项中间空一个？",
            "选项A": "甲",
            "选项C": "丙",
            "答案": "A",
        },  # 15
        {**good, "题干": "只写了章节？", "章节": "第一章 安全用电"},  # 16
        {},  # 17: an empty row is skipped
        {"题型": "单选题", "题干": "选项重复？", **options("甲", "甲"), "答案": "A"},  # 18
    ]
    before = Question.objects.count()
    found, errors = sheets.questions_from_sheet(personas.inst_a, xlsx(rows))
    reasons = {e.row: e.message for e in errors}
    expected = {
        2: "题型：应为单选题、多选题、判断题或填空题",
        3: "题干：不能为空",
        4: "至少需要 2 个选项",
        5: "答案 D 超出了选项范围（只有 3 个选项）",
        6: "多选题至少两个正确答案",
        7: "本机构没有名为“焊工基础”的课程",
        8: "课程“电工基础”中没有名为“第九章”的章节",
        9: "难度：应为易、中或难",
        11: "题干：与第 10 行重复",
        12: "题库中已有相同题干的题目",
        13: "判断题的答案应为“正确”或“错误”",
        14: "请填写每个空的答案",
        15: "选项B为空",
        16: "填写章节时须同时填写所属课程",
        18: "选项不能重复",
    }
    assert sorted(reasons) == sorted(expected)
    for row, fragment in expected.items():
        assert fragment in reasons[row], (row, reasons[row])
    assert [q["stem"] for q in found] == ["触电急救第一步？"]  # row 10, ready but held back
    assert Question.objects.count() == before


def test_a_clean_sheet_imports_every_kind(personas, chapter):
    rows = [
        {
            "题型": "单选题",
            "题干": "安全电压一般不超过多少伏？",
            **options(36, "110 V", "220 V", "380 V"),  # a number typed into Excel
            "答案": "a",
            "难度": "易",
            "课程": "电工基础",
            "章节": "第一章 安全用电",
            "解析": "36 V 及以下为安全电压。",
        },
        {
            "题型": "多选",
            "题干": "下列属于绝缘材料的是？",
            **options("橡胶", "铜", "陶瓷", "铝"),
            "答案": "A、C",
        },
        {"题型": "判断题", "题干": "带电作业可以不穿绝缘鞋。", "答案": "错误", "难度": "难"},
        {
            "题型": "填空题",
            "题干": "我国交流电的频率是____赫兹，用字母____表示。",
            "答案": "50|五十；Hz",
        },
        {"题型": "填空题", "题干": "额定转速的单位是____。", "答案": "r/min|"},
        {"题型": "填空题", "题干": "五十写作阿拉伯数字是____。", "答案": 50},
    ]
    found, errors = sheets.questions_from_sheet(personas.inst_a, xlsx(rows))
    assert errors == []
    assert sheets.questions_import(institution=personas.inst_a, rows=found, by=personas.admin) == 6
    single, multiple, judge, fill, unit, number = Question.objects.order_by("id")
    assert single.options == ["36", "110 V", "220 V", "380 V"] and single.answer == [0]
    assert single.difficulty == Question.Difficulty.EASY
    assert (single.course, single.chapter) == (personas.course, chapter)
    assert single.analysis == "36 V 及以下为安全电压。"
    assert multiple.kind == "multiple" and multiple.answer == [0, 2]
    assert multiple.difficulty == Question.Difficulty.MEDIUM and multiple.course is None
    assert judge.options == ["正确", "错误"] and judge.answer == [1]
    assert fill.answer == [["50", "五十"], ["Hz"]]
    assert unit.answer == [["r/min"]] and number.answer == [["50"]]
    assert AuditEntry.objects.filter(action="question_bank.create").count() == 6
    summary = AuditEntry.objects.get(action="question_bank.import")
    assert summary.detail == {"count": 6} and summary.institution_id == personas.inst_a.pk


def test_export_then_import_into_another_institution_gives_the_same_questions(
    personas, bank, chapter
):
    services.question_create(
        institution=personas.inst_a,
        by=personas.admin,
        kind="single",
        stem="=1+1 在表格里也应是文字",
        options=["=2", "二", "@三"],
        answer=[1],
        difficulty=Question.Difficulty.HARD,
        chapter=chapter,
        analysis="以等号开头的内容不能变成公式。",
    )
    services.question_create(
        institution=personas.inst_a,
        by=personas.admin,
        kind="fill",
        stem="电动机转速单位____，功率单位____。",
        options=[],
        answer=[["r/min", "转每分"], ["kW/h"], ["千瓦"]],
    )
    # Institution B has a course and chapter of the same names.
    course_b = Course.objects.create(
        institution=personas.inst_b, title="电工基础", kind="vocational"
    )
    Chapter.objects.create(course=course_b, title="第一章 安全用电")
    data = sheets.questions_export(
        institution=personas.inst_a, questions=Question.objects.all(), by=personas.admin
    )
    found, errors = sheets.questions_from_sheet(personas.inst_b, data)
    assert errors == []
    sheets.questions_import(institution=personas.inst_b, rows=found, by=personas.other_admin)

    def bank_of(institution):
        return sorted(
            (
                q.kind,
                q.stem,
                q.options,
                q.answer,
                q.difficulty,
                q.course.title if q.course else None,
                q.chapter.title if q.chapter else None,
                q.analysis,
            )
            for q in Question.objects.filter(institution=institution)
        )

    assert len(bank_of(personas.inst_a)) == 6
    assert bank_of(personas.inst_b) == bank_of(personas.inst_a)
    export = AuditEntry.objects.get(action="question_bank.export")
    assert export.detail == {"count": 6, "filtered": False}
    # The stem starting with "=" is text in Excel, not a formula.
    sheet = load_workbook(io.BytesIO(data))["试题"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=1+1 在表格里也应是文字"]
    assert cells and cells[0].data_type == "s"


def test_the_template_has_the_header_and_instructions(personas):
    book = load_workbook(io.BytesIO(sheets.questions_template()))
    assert book.sheetnames == ["试题", "填写说明"]
    assert [c.value for c in book["试题"][1]] == sheets.COLUMNS
    assert book["试题"].max_row == 1
    # Importing the untouched template imports nothing and says why.
    found, errors = sheets.questions_from_sheet(personas.inst_a, sheets.questions_template())
    assert found == [] and "没有试题" in errors[0].message


@pytest.mark.parametrize(
    "data",
    [
        b"\xe9\xa2\x98\xe5\x9e\x8b,\xe9\xa2\x98\xe5\xb9\xb2\n",  # a CSV
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64,  # an old .xls
        b"",
    ],
)
def test_a_file_that_is_not_xlsx_is_refused_whole(personas, data):
    with pytest.raises(sheets.SheetError, match=r"\.xlsx"):
        sheets.questions_from_sheet(personas.inst_a, data)


def test_a_zip_that_is_not_a_workbook_is_refused(personas):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(sheets.SheetError, match=r"\.xlsx"):
        sheets.questions_from_sheet(personas.inst_a, out.getvalue())


def test_a_sheet_without_the_header_is_refused(personas):
    with pytest.raises(sheets.SheetError, match="缺少“题型”“答案”列"):
        sheets.questions_from_sheet(personas.inst_a, xlsx([], header=["题干", "备注"]))


def test_a_huge_sheet_is_refused(personas):
    book = Workbook(write_only=True)
    sheet = book.create_sheet("试题")
    sheet.append(sheets.COLUMNS)
    for n in range(sheets.MAX_ROWS + 1):
        sheet.append(["判断题", f"第 {n} 题", *[None] * 8, "正确"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(sheets.SheetError, match="超过 5000 行"):
        sheets.questions_from_sheet(personas.inst_a, out.getvalue())
    assert not Question.objects.exists()


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("50|五十；Hz", [["50", "五十"], ["Hz"]]),
        ("50/五十;Hz", [["50", "五十"], ["Hz"]]),
        ("50｜五十\nHz", [["50", "五十"], ["Hz"]]),
        ("r/min|", [["r/min"]]),
        ("r/min|转每分", [["r/min", "转每分"]]),
    ],
)
def test_fill_answers_as_text(text, answer):
    assert sheets.fill_answer_parse(text) == answer
    assert sheets.fill_answer_parse(sheets.fill_answer_format(answer)) == answer
