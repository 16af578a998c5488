"""The exam JSON API and pages: what the page is told (never the answers), stable refusals for
bad input, and who may see what."""

import json

import pytest

from conftest import client_for
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.tests.fixtures import face_pass, item_of, right_answer

pytestmark = pytest.mark.django_db


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def sitting(personas, exam):
    """The trainee's client with an attempt started through the API."""
    client = client_for(personas.trainee)
    face_pass(personas.trainee.trainee_profile, exam)
    response = client.post(f"/exams/api/{exam.pk}/start/")
    assert response.status_code == 200, response.content
    return client, response.json()


def test_start_without_face_and_other_institutions_exam(personas, exam):
    client = client_for(personas.trainee)
    response = client.post(f"/exams/api/{exam.pk}/start/")
    assert response.status_code == 409 and response.json()["code"] == "FACE_REQUIRED"
    other = client_for(personas.trainee_b)
    for url in (f"/exams/api/{exam.pk}/start/", f"/exams/api/{exam.pk}/face/"):
        response = other.post(url)
        assert response.status_code == 404 and response.json()["code"] == "EXAM_NOT_FOUND"
    assert other.get(f"/exams/{exam.pk}/").status_code == 404


def test_state_never_carries_answers(sitting):
    client, state = sitting
    assert state["status"] == "in_progress" and 1790 < state["remaining"] <= 1800
    assert len(state["questions"]) == 4
    text = json.dumps(state, ensure_ascii=False)
    for secret in ('"answer"', '"perm"', '"analysis"', "五十"):
        assert secret not in text
    again = client.get(f"/exams/api/attempts/{state['attempt']}/").json()
    assert again["questions"] == state["questions"]


def test_answers_survive_a_reload(personas, sitting):
    client, state = sitting
    attempt = Attempt.objects.get(pk=state["attempt"])
    item = item_of(attempt, "fill")
    url = f"/exams/api/attempts/{attempt.pk}/answer/"
    response = post_json(client, url, {"question": item["id"], "value": ["50", "Hz"]})
    assert response.status_code == 200 and response.json()["saved"] == 1
    fresh = client_for(personas.trainee).get(f"/exams/api/attempts/{attempt.pk}/").json()
    assert fresh["answers"] == {str(item["id"]): ["50", "Hz"]}


@pytest.mark.parametrize(
    "body,code",
    [
        (b"{not json", "MALFORMED_JSON"),
        (b"[1, 2]", "MALFORMED_JSON"),
        (b'{"question": 1}', "BAD_FIELD"),
        (b'{"question": 999999, "value": [0]}', "BAD_QUESTION"),
    ],
)
def test_bad_payloads_are_refused(sitting, body, code):
    client, state = sitting
    response = client.post(
        f"/exams/api/attempts/{state['attempt']}/answer/",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == code
    assert Attempt.objects.get(pk=state["attempt"]).answers == {}


def test_option_that_does_not_exist(sitting):
    client, state = sitting
    single = next(q for q in state["questions"] if q["kind"] == "single")
    response = post_json(
        client,
        f"/exams/api/attempts/{state['attempt']}/answer/",
        {"question": single["id"], "value": [len(single["options"])]},
    )
    assert response.status_code == 400 and response.json()["code"] == "BAD_ANSWER"


def test_another_trainees_attempt_is_not_found(personas, sitting):
    _, state = sitting
    other = client_for(personas.trainee_b)
    base = f"/exams/api/attempts/{state['attempt']}/"
    assert other.get(base).json()["code"] == "ATTEMPT_NOT_FOUND"
    for path in ("answer/", "leave/", "submit/"):
        response = post_json(other, base + path, {"question": 1, "value": [0]})
        assert response.status_code == 404 and response.json()["code"] == "ATTEMPT_NOT_FOUND"
    assert other.get(f"/exams/attempts/{state['attempt']}/").status_code == 404
    attempt = Attempt.objects.get(pk=state["attempt"])
    assert attempt.status == "in_progress" and attempt.page_leaves == 0


def test_submit_and_result_page_follow_the_answer_policy(personas, exam, sitting):
    client, state = sitting
    attempt = Attempt.objects.get(pk=state["attempt"])
    for item in attempt.paper:
        post_json(
            client,
            f"/exams/api/attempts/{attempt.pk}/answer/",
            {"question": item["id"], "value": right_answer(item)},
        )
    response = client.post(f"/exams/api/attempts/{attempt.pk}/submit/")
    assert response.json()["status"] == "submitted"
    page = client.get(response.json()["result_url"]).content.decode()
    assert "100.0" in page and "标准答案将在考试截止后公布" in page and "正确答案" not in page
    exam.show_answers = Exam.ShowAnswers.AFTER_SUBMIT
    exam.save()
    page = client.get(response.json()["result_url"]).content.decode()
    assert "正确答案" in page
    # Handed in: further answers are refused.
    item = item_of(attempt, "single")
    late = post_json(
        client,
        f"/exams/api/attempts/{attempt.pk}/answer/",
        {"question": item["id"], "value": [0]},
    )
    assert late.status_code == 409 and late.json()["code"] == "ATTEMPT_CLOSED"
    listing = client.get("/exams/").content.decode()
    assert exam.title in listing and "100.0" in listing


def test_start_costs_a_fixed_handful_of_queries(personas, exam):
    """An exam storm starts hundreds of attempts at once: the start reads the exam, the
    trainee's attempts, class and face match in one statement (besides the login), then writes
    the attempt and its audit entry, whatever the bank's or the paper's size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.trainee)
    assert client.get(f"/exams/{exam.pk}/").status_code == 200  # the login session is touched
    face_pass(personas.trainee.trainee_profile, exam)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/exams/api/{exam.pk}/start/")
    assert response.status_code == 200, response.content
    statements = [q["sql"].lstrip() for q in queries if "pg_advisory_xact_lock" not in q["sql"]]
    reads = [sql for sql in statements if sql.upper().startswith("SELECT")]
    writes = [sql for sql in statements if sql.upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert [sql.split(" (")[0] for sql in writes] == [
        'INSERT INTO "exams_attempt"',
        'INSERT INTO "audit_auditentry"',
    ]
    # The login session and user, the start facts, the exam's frozen pool (read once per
    # process, then kept), and the audit chain's head.
    assert len(reads) == 5, reads


def test_a_face_match_opens_only_the_exam_it_was_made_for(personas, exam, paper):
    from django.utils import timezone

    other = Exam.objects.create(
        institution=exam.institution,
        title="另一场考试",
        paper=paper,
        scope=exam.scope,
        course=exam.course,
        opens_at=exam.opens_at,
        closes_at=exam.closes_at,
        duration_minutes=30,
        requires_completion=False,
        pool=exam.pool,
    )
    assert other.opens_at <= timezone.now()
    client = client_for(personas.trainee)
    face_pass(personas.trainee.trainee_profile, exam)
    response = client.post(f"/exams/api/{other.pk}/start/")
    assert response.status_code == 409 and response.json()["code"] == "FACE_REQUIRED"
    assert client.post(f"/exams/api/{exam.pk}/start/").status_code == 200
    assert Attempt.objects.filter(exam=other).count() == 0


def test_a_class_exam_does_not_exist_for_a_member_outside_the_class(personas, exam):
    """The start (one hand-written statement) and the page and face check (the ORM selector)
    apply the same rule: outside the class, the class's exam is a 404 everywhere."""
    from django.utils import timezone

    from zhipei.courses.models import ClassMember, TrainingClass

    training_class = TrainingClass.objects.create(
        institution=exam.institution,
        name="电工一班",
        kind="vocational",
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        required_xueshi=1,
    )
    Exam.objects.filter(pk=exam.pk).update(scope="class", training_class=training_class)
    client = client_for(personas.trainee)
    face_pass(personas.trainee.trainee_profile, exam)
    for url in (f"/exams/api/{exam.pk}/start/", f"/exams/api/{exam.pk}/face/"):
        response = client.post(url)
        assert response.status_code == 404 and response.json()["code"] == "EXAM_NOT_FOUND"
    assert client.get(f"/exams/{exam.pk}/").status_code == 404
    ClassMember.objects.create(
        training_class=training_class, trainee=personas.trainee.trainee_profile
    )
    assert client.post(f"/exams/api/{exam.pk}/start/").status_code == 200
