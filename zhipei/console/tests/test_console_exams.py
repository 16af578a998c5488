"""The question bank, papers and exams from the institution console."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from conftest import client_for
from zhipei.audit.models import AuditEntry
from zhipei.core.exports import XLSX_TYPE
from zhipei.courses.models import Chapter, Course, TrainingClass
from zhipei.exams import services, sheets
from zhipei.exams.models import Exam, Paper, Question

pytestmark = pytest.mark.django_db


def make_question(personas, stem, kind="judge", institution=None, **fields):
    defaults = {"options": [], "answer": [0]}
    if kind in ("single", "multiple"):
        defaults = {"options": ["甲", "乙", "丙"], "answer": [0] if kind == "single" else [0, 1]}
    elif kind == "fill":
        defaults = {"options": [], "answer": [["50"]]}
    return services.question_create(
        institution=institution or personas.inst_a,
        by=personas.admin,
        kind=kind,
        stem=stem,
        **{**defaults, **fields},
    )


def page_text(response) -> str:
    return response.content.decode()


def test_instructor_writes_each_kind_of_question(personas):
    client = client_for(personas.instructor)
    new = reverse("console:bank_question_new")
    assert "单选题" in page_text(client.get(new))  # the kind chooser
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    response = client.post(
        f"{new}?kind=single",
        {
            "stem": "安全电压一般不超过多少伏？",
            "option_A": "36 V",
            "option_B": "220 V",
            "option_C": "380 V",
            "correct": ["A"],
            "difficulty": "1",
            "chapter": chapter.pk,
            "analysis": "36 V 及以下",
        },
    )
    assert response.status_code == 302
    single = Question.objects.get()
    assert single.institution == personas.inst_a and single.kind == "single"
    assert single.options == ["36 V", "220 V", "380 V"] and single.answer == [0]
    assert (single.course, single.chapter) == (personas.course, chapter)

    # Mistakes come back on the form, in Chinese, and nothing is saved.
    mistakes = [
        (
            "multiple",
            {"option_A": "甲", "option_B": "乙", "correct": ["A"]},
            "多选题至少两个正确答案",
        ),
        ("single", {"option_A": "甲", "option_B": "乙", "correct": ["C"]}, "答案 C 超出了选项范围"),
        (
            "single",
            {"option_A": "甲", "option_B": "乙", "option_D": "丁", "correct": ["A"]},
            "选项C为空",
        ),
        ("single", {"option_A": "甲", "option_B": "乙"}, "正确选项："),
        ("single", {"option_A": "甲", "option_B": "甲", "correct": ["A"]}, "选项不能重复"),
        ("judge", {}, "正确答案："),
        ("fill", {"fills": "\n；\n"}, "填空题应有 1–10 个空的答案"),
    ]
    for kind, fields, message in mistakes:
        response = client.post(
            f"{new}?kind={kind}", {"stem": "有错的题", "difficulty": "2", **fields}
        )
        assert response.status_code == 200
        assert message in page_text(response), (kind, fields)
    other_course = Course.objects.create(
        institution=personas.inst_a, title="焊工", kind="vocational"
    )
    response = client.post(
        f"{new}?kind=judge",
        {
            "stem": "有错的题",
            "difficulty": "2",
            "judge": "0",
            "course": other_course.pk,
            "chapter": chapter.pk,
        },
    )
    assert "章节不属于该课程" in page_text(response)
    assert Question.objects.count() == 1

    client.post(
        f"{new}?kind=judge", {"stem": "带电作业可以不穿绝缘鞋。", "difficulty": "2", "judge": "1"}
    )
    client.post(
        f"{new}?kind=fill",
        {"stem": "交流电频率____赫兹，字母____。", "difficulty": "3", "fills": "50|五十\nHz"},
    )
    judge = Question.objects.get(kind="judge")
    fill = Question.objects.get(kind="fill")
    assert judge.options == ["正确", "错误"] and judge.answer == [1]
    assert fill.answer == [["50", "五十"], ["Hz"]]

    # Editing shows the stored answer and keeps it unless changed.
    edit = reverse("console:question_edit", args=[fill.pk])
    assert "50|五十\nHz" in page_text(client.get(edit))
    client.post(
        edit, {"stem": fill.stem, "difficulty": "3", "fills": "50/五十/五〇\nHz", "active": "on"}
    )
    fill.refresh_from_db()
    assert fill.answer == [["50", "五十", "五〇"], ["Hz"]] and fill.active
    response = client.post(
        reverse("console:question_edit", args=[single.pk]),
        {
            "stem": "",
            "option_A": "甲",
            "option_B": "乙",
            "correct": ["A"],
            "difficulty": "2",
            "active": "on",
        },
    )
    assert "题干：" in page_text(response)
    single.refresh_from_db()
    assert single.stem == "安全电压一般不超过多少伏？"
    assert AuditEntry.objects.filter(action="question_bank.update").count() == 1


def test_retiring_a_question_keeps_it(personas):
    question = make_question(personas, "带电作业可以不穿绝缘鞋。")
    client = client_for(personas.admin)
    response = client.post(
        reverse("console:question_retire", args=[question.pk]), {"query": "kind=judge&page=1"}
    )
    assert response["Location"] == reverse("console:questions") + "?kind=judge&page=1"
    question.refresh_from_db()
    assert not question.active
    assert "带电作业" not in page_text(client.get(reverse("console:questions")))
    assert "带电作业" in page_text(client.get(reverse("console:questions"), {"active": "0"}))
    # Another institution's question is not there for them.
    assert (
        client_for(personas.other_admin)
        .post(reverse("console:question_retire", args=[question.pk]))
        .status_code
        == 404
    )


def test_the_list_filters_sorts_and_pages_on_the_server(personas):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    for n in range(25):
        make_question(personas, f"判断题 {n:02d}", difficulty=1 + n % 3)
    make_question(personas, "单选：安全电压？", kind="single", chapter=chapter)
    make_question(personas, "填空：频率____", kind="fill", course=personas.course)
    make_question(personas, "别家的题", institution=personas.inst_b)
    client = client_for(personas.instructor)
    url = reverse("console:questions")
    first = client.get(url)
    assert first.context["page_obj"].paginator.count == 27
    assert len(first.context["page_obj"]) == 20
    assert "别家的题" not in page_text(first)
    assert len(client.get(url, {"page": 2}).context["page_obj"]) == 7

    def stems(**params):
        return [q.stem for q in client.get(url, params).context["page_obj"]]

    assert stems(kind="single") == ["单选：安全电压？"]
    assert stems(chapter=chapter.pk) == ["单选：安全电压？"]
    assert set(stems(course=personas.course.pk)) == {"单选：安全电压？", "填空：频率____"}
    assert stems(q="频率") == ["填空：频率____"]
    assert len(stems(kind="judge", difficulty=3)) == 8
    hard_first = stems(kind="judge", sort="-difficulty")
    assert hard_first[0] in {f"判断题 {n:02d}" for n in range(2, 25, 3)}
    assert stems(sort="id")[0] == "判断题 00"
    # A filter value that is not valid is ignored rather than failing the page.
    assert client.get(url, {"kind": "essay", "course": "abc"}).status_code == 200


def test_import_lists_every_bad_row_and_imports_nothing(personas):
    client = client_for(personas.instructor)
    url = reverse("console:questions_import")
    book = Workbook()
    book.active.title = "试题"
    book.active.append(sheets.COLUMNS)
    good = ["判断题", "带电作业可以不穿绝缘鞋。", *[None] * 8, "错误"]
    book.active.append(good)
    book.active.append(["问答题", "什么是电？", *[None] * 8, "A"])
    book.active.append(good)
    out = io.BytesIO()
    book.save(out)
    response = client.post(url, {"sheet": SimpleUploadedFile("bank.xlsx", out.getvalue())})
    text = page_text(response)
    assert "未导入任何试题" in text
    assert "第 3 行：题型：应为单选题、多选题、判断题或填空题" in text
    assert "第 4 行：题干：与第 2 行重复" in text
    assert not Question.objects.exists()
    assert not AuditEntry.objects.filter(action="question_bank.import").exists()

    response = client.post(url, {"sheet": SimpleUploadedFile("bank.csv", "题型,题干\n".encode())})
    assert "请上传 .xlsx 格式的 Excel 文件" in page_text(response)
    assert not Question.objects.exists()

    clean = Workbook()
    clean.active.append(sheets.COLUMNS)
    clean.active.append(good)
    clean.active.append(["单选题", "触电急救第一步？", "切断电源", "直接拉人", *[None] * 6, "A"])
    out = io.BytesIO()
    clean.save(out)
    response = client.post(
        url, {"sheet": SimpleUploadedFile("bank.xlsx", out.getvalue())}, follow=True
    )
    assert "已导入 2 道试题" in page_text(response)
    assert Question.objects.filter(institution=personas.inst_a).count() == 2
    entry = AuditEntry.objects.get(action="question_bank.import")
    assert entry.actor_id == personas.instructor.pk and entry.detail == {"count": 2}


def test_template_and_filtered_export(personas):
    client = client_for(personas.admin)
    template = client.get(reverse("console:questions_template"))
    assert template["Content-Type"] == XLSX_TYPE
    assert [
        c.value for c in load_workbook(io.BytesIO(template.content))["试题"][1]
    ] == sheets.COLUMNS
    make_question(personas, "判断一", course=personas.course)
    make_question(personas, "单选一", kind="single")
    make_question(personas, "别家的题", institution=personas.inst_b)
    retired = make_question(personas, "停用的题")
    services.question_update(question=retired, by=personas.admin, active=False)
    export = client.get(reverse("console:questions_export"), {"kind": "judge"})
    assert export["Content-Type"] == XLSX_TYPE
    assert "attachment" in export["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(export.content))["试题"].iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["判断一"]
    assert rows[1][sheets.COLUMNS.index("课程")] == "电工基础"
    assert rows[1][sheets.COLUMNS.index("答案")] == "正确"
    entry = AuditEntry.objects.get(action="question_bank.export")
    assert entry.detail == {"count": 1, "filtered": True}


def test_fixed_paper_from_ticked_questions(personas):
    a = make_question(personas, "判断一")
    b = make_question(personas, "单选一", kind="single")
    retired = make_question(personas, "停用的题")
    services.question_update(question=retired, by=personas.admin, active=False)
    foreign = make_question(personas, "别家的题", institution=personas.inst_b)
    client = client_for(personas.instructor)
    url = reverse("console:paper_new_fixed")
    page = page_text(client.get(url))
    assert "判断一" in page and "停用的题" not in page and "别家的题" not in page
    assert "单选一" not in page_text(client.get(url, {"kind": "judge"}))

    base = {"title": "电工测验", "default_score": "10", "shuffle_questions": "on"}
    assert "请至少勾选一道题" in page_text(client.post(url, base))
    response = client.post(url, {**base, "questions": [a.pk, foreign.pk]})
    assert "所选题目不存在或已停用" in page_text(response)
    response = client.post(url, {**base, "questions": [a.pk], f"score_{a.pk}": "abc"})
    assert "分值不正确" in page_text(response)
    assert not Paper.objects.exists()

    response = client.post(url, {**base, "questions": [b.pk, a.pk], f"score_{a.pk}": "12.5"})
    paper = Paper.objects.get()
    assert response["Location"] == reverse("console:paper_detail", args=[paper.pk])
    assert paper.mode == "fixed" and paper.shuffle_questions and not paper.shuffle_options
    assert [(i.question_id, i.score) for i in paper.items.all()] == [
        (b.pk, Decimal(10)),
        (a.pk, Decimal("12.5")),
    ]
    detail = page_text(client.get(response["Location"]))
    assert "22.5" in detail and "单选一" in detail
    assert "22.5" in page_text(client.get(reverse("console:papers")))
    assert client_for(personas.other_admin).get(response["Location"]).status_code == 404


def test_random_paper_needs_enough_questions_in_the_bank(personas):
    for n in range(3):
        make_question(personas, f"判断 {n}", course=personas.course)
    make_question(personas, "单选", kind="single")
    client = client_for(personas.admin)
    url = reverse("console:paper_new_random")
    assert "判断题 3 道" in page_text(client.get(url))
    base = {"title": "随机卷", "shuffle_questions": "on", "shuffle_options": "on"}
    assert "请至少填写一条抽题规则" in page_text(client.post(url, base))
    incomplete = client.post(url, {**base, "r0-kind": "judge"})
    assert "数量：请填写" in page_text(incomplete)
    too_many = client.post(url, {**base, "r0-kind": "judge", "r0-count": "4", "r0-score": "5"})
    assert "第 1 条规则需要 4 道题，题库中符合条件的只有 3 道" in page_text(too_many)
    assert not Paper.objects.exists()

    response = client.post(
        url,
        {
            **base,
            "r0-kind": "judge",
            "r0-count": "3",
            "r0-score": "10",
            "r0-course": personas.course.pk,
            "r2-kind": "single",
            "r2-count": "1",
            "r2-score": "20",
        },
    )
    paper = Paper.objects.get()
    assert paper.mode == "random"
    assert paper.rules == [
        {"kind": "judge", "count": 3, "score": "10", "course": personas.course.pk},
        {"kind": "single", "count": 1, "score": "20"},
    ]
    detail = page_text(client.get(response["Location"]))
    assert "抽题规则" in detail and "50" in detail  # 3 × 10 + 1 × 20


def test_exam_created_over_an_own_paper_and_target(personas):
    question = make_question(personas, "判断一")
    paper = services.paper_create(
        institution=personas.inst_a,
        title="试卷",
        by=personas.admin,
        items=[(question, Decimal(100))],
    )
    foreign_paper = services.paper_create(
        institution=personas.inst_b,
        title="别家试卷",
        by=personas.other_admin,
        items=[(make_question(personas, "别家", institution=personas.inst_b), Decimal(100))],
    )
    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="电工班",
        kind="vocational",
        start_date="2026-12-01",
        end_date="2026-12-31",
        required_xueshi=40,
    )
    client = client_for(personas.instructor)
    url = reverse("console:exam_new")
    form_page = client.get(url, {"paper": paper.pk})
    assert form_page.context["form"]["pass_mark"].value() == Decimal(60)
    assert 'type="datetime-local"' in page_text(form_page)
    now = timezone.localtime()
    base = {
        "title": "结业考试",
        "paper": paper.pk,
        "scope": "class",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "60",
        "max_attempts": "2",
        "pass_mark": "60",
        "show_answers": "after_submit",
        "requires_completion": "on",
    }
    assert "请选择培训班" in page_text(client.post(url, base))
    base["training_class"] = training_class.pk
    assert "及格分不能低于平台设定的 60 分" in page_text(
        client.post(url, {**base, "pass_mark": "50"})
    )
    assert "截止时间应晚于开始时间" in page_text(
        client.post(url, {**base, "closes_at": base["opens_at"]})
    )
    assert "试卷：" in page_text(client.post(url, {**base, "paper": foreign_paper.pk}))
    assert not Exam.objects.exists()

    response = client.post(url, {**base, "course": personas.course.pk, "pass_mark": "75"})
    exam = Exam.objects.get()
    assert response["Location"] == reverse("console:exam_detail", args=[exam.pk])
    assert exam.scope == "class" and exam.training_class == training_class
    assert exam.course is None  # only the scope's own target is kept
    assert exam.pass_mark == Decimal(75) and exam.max_attempts == 2
    assert timezone.localtime(exam.opens_at).strftime("%Y-%m-%dT%H:%M") == base["opens_at"]
    detail = page_text(client.get(response["Location"]))
    assert "电工班" in detail and "交卷后公布" in detail and "进行中" in detail
    listing = page_text(client.get(reverse("console:exams")))
    assert "结业考试" in listing and "电工班" in listing
    assert client_for(personas.other_admin).get(response["Location"]).status_code == 404
