"""Exam results in the console: the tables, and exports opened with csv and openpyxl and
compared with the database; exports are audited and scoped to the institution."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from conftest import client_for
from zhipei.audit.models import AuditEntry
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import ClassMember, TrainingClass
from zhipei.exams import services
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.selectors import RESULT_HEADER
from zhipei.exams.tests.fixtures import face_pass, right_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def results(personas, paper):
    """A class exam with three trainees: one passed, one failed, one still writing."""
    now = timezone.now()
    training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="电工一班",
        kind="vocational",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() + timedelta(days=10),
        required_xueshi=2,
    )
    exam = services.exam_create(
        institution=personas.inst_a,
        by=personas.admin,
        title="电工一班结业考试",
        paper=paper,
        scope=Exam.Scope.CLASS,
        training_class=training_class,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        duration_minutes=30,
        requires_completion=False,
    )
    profiles = [personas.trainee.trainee_profile] + [
        make_trainee(personas.inst_a, name=name, n=n).trainee_profile
        for name, n in (("王五", 301), ("赵六", 302))
    ]
    for profile in profiles:
        ClassMember.objects.create(training_class=training_class, trainee=profile)
    for profile, right in zip(profiles, (4, 1, None), strict=True):
        face_pass(profile, exam)
        attempt = services.attempt_start(exam=exam, trainee=profile)
        if right is None:
            continue
        for item in attempt.paper[:right]:
            services.attempt_answer(
                attempt_id=attempt.pk,
                trainee=profile,
                question_id=item["id"],
                value=right_answer(item),
            )
        services.attempt_page_leave(attempt_id=attempt.pk, trainee=profile)
        services.attempt_submit(attempt_id=attempt.pk, trainee=profile)
    return exam, training_class


def test_results_table_filters(personas, results):
    exam, _ = results
    client = client_for(personas.admin)
    page = client.get(f"/console/exams/{exam.pk}/results/").content.decode()
    assert "张三" in page and "王五" in page and "赵六" in page and "100.0" in page
    passed = client.get(f"/console/exams/{exam.pk}/results/?show=passed").content.decode()
    assert "张三" in passed and "王五" not in passed
    # A nonsense filter shows everything, it does not fail.
    assert client.get(f"/console/exams/{exam.pk}/results/?show=%00x&page=zz").status_code == 200
    assert (
        client_for(personas.other_admin).get(f"/console/exams/{exam.pk}/results/").status_code
        == 404
    )


def test_csv_and_xlsx_exports_match_the_database(personas, results):
    exam, _ = results
    client = client_for(personas.admin)
    response = client.get(f"/console/exams/{exam.pk}/results.csv")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == RESULT_HEADER
    attempts = Attempt.objects.filter(exam=exam).order_by("trainee_id")
    assert len(rows) == 1 + attempts.count() == 4
    by_name = {row[0]: row for row in rows[1:]}
    for attempt in attempts:
        row = by_name[attempt.trainee.user.name]
        assert row[1] == attempt.trainee.id_number_masked
        assert row[10] == (str(float(attempt.score)) if attempt.score is not None else "")
        assert row[16] == str(attempt.page_leaves)
        assert row[13] == "通过"  # the start face check
    assert by_name["张三"][11] == "是" and by_name["王五"][11] == "否"
    assert by_name["赵六"][11] == "作答中"

    response = client.get(f"/console/exams/{exam.pk}/results.xlsx")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == RESULT_HEADER
    xlsx_by_name = {row[0]: row for row in sheet_rows[1:]}
    assert xlsx_by_name["张三"][10] == 100.0 and xlsx_by_name["王五"][10] == 25.0
    assert AuditEntry.objects.filter(action="exam.results_export").count() == 2
    assert client.get(f"/console/exams/{exam.pk}/results.pdf").status_code == 404


def test_class_summary_and_export(personas, results):
    _, training_class = results
    client = client_for(personas.admin)
    page = client.get(f"/console/classes/{training_class.pk}/results/").content.decode()
    assert "电工一班结业考试" in page and "100.0" in page
    response = client.get(f"/console/classes/{training_class.pk}/results.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["张三"][5] == "100.0" and by_name["张三"][6] == "是"
    assert by_name["王五"][6] == "否" and by_name["赵六"][5] == ""
    assert by_name["张三"][4] == "否"  # no study time: 学时 not reached
    assert AuditEntry.objects.filter(action="class.results_export").exists()
    other = client_for(personas.other_admin)
    assert other.get(f"/console/classes/{training_class.pk}/results.csv").status_code == 404


def test_void_attempt_shows_as_invalid(personas, results):
    exam, _ = results
    attempt = Attempt.objects.get(exam=exam, trainee__user__name="赵六")
    Attempt.objects.filter(pk=attempt.pk).update(
        status="submitted", end_reason="face_failed", score=Decimal(90), passed=False
    )
    page = client_for(personas.admin).get(f"/console/exams/{exam.pk}/results/").content.decode()
    assert "无效" in page


def test_tables_sort_on_the_server_and_ignore_nonsense(personas, results):
    exam, _ = results
    client = client_for(personas.admin)
    url = f"/console/exams/{exam.pk}/results/"
    by_score = client.get(url + "?sort=-score").content.decode()
    assert by_score.index("张三") < by_score.index("王五")  # 100 before 25
    ascending = client.get(url + "?sort=score").content.decode()
    assert ascending.index("王五") < ascending.index("张三")
    assert 'aria-sort="ascending"' in ascending
    for nonsense in (
        "?sort=password",
        "?sort=--score",
        "?sort=%00",
        "?sort=trainee__user__password",
    ):
        assert client.get(url + nonsense).status_code == 200
    for page in ("/console/trainees/", "/console/courses/", "/console/classes/"):
        for sort in ("name", "-created", "-start", "title", "required", "bogus"):
            assert client.get(f"{page}?sort={sort}").status_code == 200
