"""Courses, lessons, questions and classes from the institution console."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from conftest import client_for
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import ClassMember, Course, Lesson, LessonQuestion, TrainingClass
from zhipei.lib.video import generate_lesson_video

pytestmark = pytest.mark.django_db


def test_instructor_builds_a_course_with_a_video_lesson_and_a_question(personas, tmp_path):
    client = client_for(personas.instructor)
    response = client.post(
        reverse("console:course_new"),
        {
            "title": "低压电工作业",
            "kind": "vocational",
            "occupation": "电工",
            "level": "特种作业",
            "theory_hours": "24",
            "practical_hours": "16",
            "description": "",
        },
    )
    course = Course.objects.get(title="低压电工作业")
    assert response["Location"] == reverse("console:course_detail", args=[course.pk])
    assert course.institution == personas.inst_a
    client.post(reverse("console:chapter_new", args=[course.pk]), {"title": "第一章 安全用电"})
    chapter = course.chapters.get()
    path = tmp_path / "l.mp4"
    generate_lesson_video(path, seconds=3, width=320, height=180)
    client.post(
        reverse("console:lesson_new", args=[course.pk]),
        {
            "chapter": chapter.pk,
            "title": "第一讲",
            "video": SimpleUploadedFile("l.mp4", path.read_bytes(), "video/mp4"),
        },
    )
    lesson = Lesson.objects.get(chapter=chapter)
    assert lesson.duration_seconds == 3
    bad = client.post(
        reverse("console:lesson_new", args=[course.pk]),
        {
            "chapter": chapter.pk,
            "title": "坏文件",
            "video": SimpleUploadedFile("x.mp4", b"not a video", "video/mp4"),
        },
        follow=True,
    )
    assert "无法读取视频时长" in bad.content.decode()
    assert Lesson.objects.filter(chapter=chapter).count() == 1
    client.post(
        reverse("console:question_new", args=[course.pk]),
        {
            "lesson": lesson.pk,
            "text": "触电急救第一步？",
            "options": "切断电源\n直接拉人",
            "answer": "1",
        },
    )
    question = LessonQuestion.objects.get(lesson=lesson)
    assert question.options == ["切断电源", "直接拉人"] and question.answer == 0
    wrong = client.post(
        reverse("console:question_new", args=[course.pk]),
        {"lesson": lesson.pk, "text": "x", "options": "只有一个", "answer": "3"},
        follow=True,
    )
    assert "至少需要两个选项" in wrong.content.decode()
    # Another institution cannot touch the course.
    assert (
        client_for(personas.other_admin)
        .post(reverse("console:chapter_new", args=[course.pk]), {"title": "x"})
        .status_code
        == 404
    )


def sheet(rows):
    book = Workbook()
    ws = book.active
    ws.append(["姓名", "身份证号"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("名单.xlsx", out.getvalue())


def test_class_enrolment_by_hand_and_from_a_clean_sheet_only(personas):
    client = client_for(personas.admin)
    client.post(
        reverse("console:class_new"),
        {
            "name": "2026 年 12 月电工班",
            "kind": "vocational",
            "courses": [personas.course.pk],
            "start_date": "2026-12-01",
            "end_date": "2026-12-31",
            "required_xueshi": "40",
        },
    )
    training_class = TrainingClass.objects.get()
    url = reverse("console:class_detail", args=[training_class.pk])
    other = make_trainee(personas.inst_a, name="王五")
    foreign = personas.trainee_b.trainee_profile
    mistakes = sheet(
        [
            ["张三", personas.trainee.trainee_profile.id_number],
            ["王五", "110105194912310021"],  # wrong check digit
            ["李四", foreign.id_number],  # another institution's trainee
            ["赵六", other.trainee_profile.id_number],  # wrong name
            ["张三", personas.trainee.trainee_profile.id_number],  # duplicate
        ]
    )
    body = client.post(url, {"sheet": mistakes}).content.decode()
    for row in (3, 4, 5, 6):
        assert f"第 {row} 行" in body
    assert (
        "校验位" in body
        and "本机构没有" in body
        and "姓名与身份证号不符" in body
        and "重复" in body
    )
    assert not ClassMember.objects.exists()  # nothing until the sheet is clean
    clean = sheet(
        [
            ["张三", personas.trainee.trainee_profile.id_number],
            ["王五", other.trainee_profile.id_number],
        ]
    )
    assert client.post(url, {"sheet": clean}).status_code == 302
    assert ClassMember.objects.count() == 2
    not_xlsx = client.post(
        url, {"sheet": SimpleUploadedFile("a.xlsx", b"PK garbage")}
    ).content.decode()
    assert "无法读取该文件" in not_xlsx
    third = make_trainee(personas.inst_a, name="钱七")
    client.post(url, {"trainees": [third.trainee_profile.pk]})
    assert ClassMember.objects.count() == 3
    template = client.get(reverse("console:class_sheet_template"))
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    assert (
        client_for(personas.instructor)
        .post(url, {"trainees": [third.trainee_profile.pk]})
        .status_code
        == 403
    )


def test_a_pdf_lesson_needs_a_pdf_and_a_reading_time(personas):
    client = client_for(personas.admin)
    chapter = personas.course.chapters.create(title="第一章")
    url = reverse("console:lesson_new", args=[personas.course.pk])
    pdf = b"%PDF-1.4\n%%EOF"
    no_time = client.post(
        url,
        {
            "chapter": chapter.pk,
            "title": "讲义",
            "document": SimpleUploadedFile("a.pdf", pdf, "application/pdf"),
        },
        follow=True,
    )
    assert "须设定要求阅读时长" in no_time.content.decode()
    fake = client.post(
        url,
        {
            "chapter": chapter.pk,
            "title": "讲义",
            "reading_minutes": "20",
            "document": SimpleUploadedFile("a.pdf", b"GIF89a", "application/pdf"),
        },
        follow=True,
    )
    assert "不是 PDF 文件" in fake.content.decode()
    both_missing = client.post(url, {"chapter": chapter.pk, "title": "讲义"}, follow=True)
    assert "二选一" in both_missing.content.decode()
    client.post(
        url,
        {
            "chapter": chapter.pk,
            "title": "讲义",
            "reading_minutes": "20",
            "document": SimpleUploadedFile("a.pdf", pdf, "application/pdf"),
        },
    )
    lesson = Lesson.objects.get(chapter=chapter)
    assert (
        lesson.kind == "document"
        and lesson.duration_seconds == 1200
        and lesson.media.name.endswith(".pdf")
    )


def test_a_class_sheet_costs_the_same_queries_whatever_its_length(personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zhipei.courses.services import class_members_from_sheet

    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="批量名单班",
        kind="vocational",
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 31),
        required_xueshi=40,
    )
    people = [make_trainee(personas.inst_a, name=f"学员{i}") for i in range(12)]
    counts = []
    for size in (2, 12):
        data = sheet([[p.name, p.trainee_profile.id_number] for p in people[:size]]).read()
        with CaptureQueriesContext(connection) as queries:
            found, errors = class_members_from_sheet(training_class=training_class, data=data)
        assert not errors and len(found) == size
        assert [p.pk for p in found] == [p.trainee_profile.pk for p in people[:size]]
        counts.append(len(queries))
    assert counts[0] == counts[1] == 1
