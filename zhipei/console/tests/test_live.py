"""The live monitor: own institution only, the class filter (and nonsense in it), masked identity,
the latest face check and the warnings, one audit entry per page load, and a query count that
does not grow with the number of people studying."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from conftest import client_for
from zhipei.audit.models import AuditEntry
from zhipei.core.crypto import field_cipher
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import (
    Chapter,
    ClassMember,
    Course,
    Lesson,
    LessonQuestion,
    TrainingClass,
)
from zhipei.faces.models import FaceAttempt
from zhipei.faces.services import EVIDENCE_AAD
from zhipei.study.models import QuizAnswer, StudySession, UncreditedInterval

pytestmark = pytest.mark.django_db

LIVE = reverse("console:live")
DATA = reverse("console:live_data")


def lesson_of(course: Course, title: str = "第一讲") -> Lesson:
    chapter = Chapter.objects.create(course=course, title="第一章")
    return Lesson.objects.create(chapter=chapter, title=title, duration_seconds=600)


def start(profile, lesson: Lesson, **fields) -> StudySession:
    now = timezone.now()
    values = {
        "trainee": profile,
        "lesson": lesson,
        "institution": lesson.chapter.course.institution,
        "device": "d",
        "status": StudySession.Status.ACTIVE,
        "started_at": now - timedelta(minutes=3),
        "last_beat_at": now,
        "last_activity_at": now,
        "face_passed_at": now - timedelta(minutes=3),
        "credited_seconds": 150.0,
        **fields,
    }
    return StudySession.objects.create(**values)


def evidence_name() -> str:
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(jpeg, "JPEG")
    return default_storage.save(
        "evidence/live.jpg.enc",
        ContentFile(field_cipher().encrypt_bytes(jpeg.getvalue(), context=EVIDENCE_AAD)),
    )


def face(session: StudySession, decision: str = "MATCH", *, seconds_ago: float = 60, evidence=True):
    return FaceAttempt.objects.create(
        trainee=session.trainee,
        institution=session.institution,
        purpose="study_start",
        decision=decision,
        at=timezone.now() - timedelta(seconds=seconds_ago),
        context=f"study:{session.pk}",
        evidence=evidence_name() if evidence else "",
    )


def class_of(institution, course: Course, name: str, *profiles) -> TrainingClass:
    training_class = TrainingClass.objects.create(
        institution=institution,
        name=name,
        kind="vocational",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() + timedelta(days=30),
        required_xueshi=10,
    )
    training_class.courses.add(course)
    for profile in profiles:
        ClassMember.objects.create(training_class=training_class, trainee=profile)
    return training_class


@pytest.fixture
def live(personas):
    """Institution A: 张三 studying (face matched) and 王五 awaiting the start check, plus an
    ended session; institution B: 李四 studying."""
    lesson_a = lesson_of(personas.course)
    course_b = Course.objects.create(
        institution=personas.inst_b, title="创业实务", kind="entrepreneurship"
    )
    lesson_b = lesson_of(course_b, "创业第一讲")
    zhang = personas.trainee.trainee_profile
    wang = make_trainee(personas.inst_a, name="王五").trainee_profile
    li = personas.trainee_b.trainee_profile
    studying = start(zhang, lesson_a)
    awaiting = start(
        wang,
        lesson_a,
        status=StudySession.Status.AWAITING_FACE,
        face_passed_at=None,
        started_at=timezone.now() - timedelta(seconds=10),
        credited_seconds=0,
    )
    start(zhang, lesson_a, status=StudySession.Status.ENDED, end_reason="left")
    other = start(li, lesson_b)
    return {
        "lesson": lesson_a,
        "studying": studying,
        "awaiting": awaiting,
        "other": other,
        "zhang": zhang,
        "wang": wang,
        "li": li,
        "course_b": course_b,
    }


def rows(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {r["trainee"]: r for r in response.json()["rows"]}


def test_the_page_lists_who_is_studying_in_the_own_institution(personas, live):
    response = client_for(personas.admin).get(LIVE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "实时监控" in html and "张三" in html and "王五" in html
    assert "李四" not in html and "创业第一讲" not in html
    assert 'src="/static/zhipei/js/live.js"' in html or "zhipei/js/live.js" in html
    assert f'data-session="{live["studying"].pk}"' in html
    assert f'data-session="{live["other"].pk}"' not in html
    # The counts at the top: two studying, one of them waiting for the start check.
    assert '<div class="stat-value" data-count="live">2</div>' in html
    assert '<div class="stat-value" data-count="awaiting_face">1</div>' in html


def test_the_data_is_scoped_to_the_institution_both_ways(personas, live):
    mine = rows(client_for(personas.admin).get(DATA))
    assert set(mine) == {"张三", "王五"}  # the ended session is not live
    assert mine["张三"]["id"] == live["studying"].pk
    assert (
        mine["张三"]["status_label"] == "学习中" and mine["王五"]["status_label"] == "等待人脸核验"
    )
    assert mine["张三"]["course"] == "电工基础" and mine["张三"]["lesson"] == "第一讲"
    assert mine["张三"]["credited_minutes"] == 2.5
    theirs = rows(client_for(personas.other_admin).get(DATA))
    assert set(theirs) == {"李四"}
    assert rows(client_for(personas.instructor).get(DATA)).keys() == {"张三", "王五"}


def test_no_unmasked_id_numbers_or_phones_leave_the_server(personas, live):
    for url in (LIVE, DATA):
        body = client_for(personas.admin).get(url).content.decode()
        for profile in (live["zhang"], live["wang"]):
            assert profile.id_number not in body
            assert profile.user.phone not in body
            assert profile.user.phone_masked not in body  # no phone at all
        assert live["zhang"].id_number_masked in body
    data = client_for(personas.admin).get(DATA).json()
    assert data["rows"][0]["id_masked"].count("*") >= 8


def test_trainees_regulators_and_the_platform_are_refused(personas, live):
    for user in (personas.trainee, personas.city_regulator, personas.operator, personas.auditor):
        assert client_for(user).get(DATA).status_code == 403
        assert client_for(user).get(LIVE).status_code == 403
    assert client_for(None).get(DATA).status_code == 302


def test_the_class_filter_shows_only_that_class(personas, live):
    electricians = class_of(personas.inst_a, personas.course, "电工一班", live["zhang"])
    class_of(personas.inst_a, personas.course, "电工二班")  # no members
    client = client_for(personas.admin)
    everyone = rows(client.get(DATA))
    assert everyone["张三"]["classes"] == "电工一班" and everyone["王五"]["classes"] == "—"
    only = rows(client.get(DATA, {"class": electricians.pk}))
    assert set(only) == {"张三"}
    page = client.get(LIVE, {"class": electricians.pk}).content.decode()
    assert "张三" in page and f'data-session="{live["awaiting"].pk}"' not in page
    assert f'<option value="{electricians.pk}" selected>' in page
    assert f"?class={electricians.pk}" in page  # the page polls with the same filter


def test_a_class_without_the_lessons_course_does_not_match(personas, live):
    other_course = Course.objects.create(
        institution=personas.inst_a, title="焊工", kind="vocational"
    )
    welders = class_of(personas.inst_a, other_course, "焊工班", live["zhang"])
    assert rows(client_for(personas.admin).get(DATA, {"class": welders.pk})) == {}
    assert rows(client_for(personas.admin).get(DATA))["张三"]["classes"] == "—"


def test_a_session_started_for_a_class_matches_it(personas, live):
    evening = class_of(personas.inst_a, personas.course, "夜班")
    StudySession.objects.filter(pk=live["awaiting"].pk).update(training_class=evening)
    got = rows(client_for(personas.admin).get(DATA, {"class": evening.pk}))
    assert set(got) == {"王五"} and got["王五"]["classes"] == "夜班"


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "999999", "0x10", "9" * 40, "1;DROP"])
def test_nonsense_in_the_class_filter_is_refused_clearly(personas, live, value):
    client = client_for(personas.admin)
    response = client.get(DATA, {"class": value})
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "code": "BAD_CLASS",
        "message": "所选培训班不存在或不属于本机构",
    }
    page = client.get(LIVE, {"class": value})
    assert page.status_code == 200
    html = page.content.decode()
    assert "所选培训班不存在或不属于本机构" in html and "张三" in html  # filter ignored, said so


def test_another_institutions_class_is_refused_like_a_missing_one(personas, live):
    theirs = class_of(personas.inst_b, live["course_b"], "创业班", live["li"])
    response = client_for(personas.admin).get(DATA, {"class": theirs.pk})
    assert response.status_code == 400 and response.json()["code"] == "BAD_CLASS"
    assert "创业班" not in client_for(personas.admin).get(LIVE).content.decode()


def test_the_latest_face_check_of_the_session_is_shown(personas, live):
    session = live["studying"]
    face(session, "MATCH", seconds_ago=120)
    latest = face(session, "MISMATCH", seconds_ago=30)
    face(live["awaiting"], "NO_FACE", seconds_ago=5, evidence=False)
    # Another session of the same trainee (ended) with a newer attempt: not this session's.
    ended = StudySession.objects.get(trainee=live["zhang"], status=StudySession.Status.ENDED)
    face(ended, "MATCH", seconds_ago=1)
    got = rows(client_for(personas.admin).get(DATA))
    shown = got["张三"]["face"]
    assert (
        shown["id"] == latest.pk and shown["decision"] == "MISMATCH" and shown["label"] == "非本人"
    )
    assert shown["ok"] is False
    assert shown["image"] == reverse("console:face_evidence", args=[latest.pk])
    assert got["王五"]["face"]["label"] == "未检测到人脸" and got["王五"]["face"]["image"] is None
    # The thumbnail goes through the evidence view: staff of the institution only, audited.
    client = client_for(personas.admin)
    before = AuditEntry.objects.filter(action="face.evidence_view").count()
    image = client.get(shown["image"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert AuditEntry.objects.filter(action="face.evidence_view").count() == before + 1
    assert client_for(personas.other_admin).get(shown["image"]).status_code == 404


def test_a_session_without_a_face_check_shows_none(personas, live):
    got = rows(client_for(personas.admin).get(DATA))
    assert got["张三"]["face"] is None
    assert "尚无核验" in client_for(personas.admin).get(LIVE).content.decode()


def codes(row: dict) -> set[str]:
    return {w["code"] for w in row["warnings"]}


def test_a_calm_session_has_no_warnings(personas, live):
    face(live["studying"])
    assert codes(rows(client_for(personas.admin).get(DATA))["张三"]) == set()


def test_warnings(personas, live):
    now = timezone.now()
    session = live["studying"]
    question = LessonQuestion.objects.create(
        lesson=live["lesson"], text="?", options=["a", "b"], answer=0
    )
    QuizAnswer.objects.create(
        session=session,
        question=question,
        asked_at=now - timedelta(minutes=2),
        deadline=now - timedelta(minutes=1),
        outcome=QuizAnswer.Outcome.WRONG,
    )
    pending = QuizAnswer.objects.create(
        session=session,
        question=question,
        asked_at=now - timedelta(seconds=90),
        deadline=now - timedelta(seconds=30),
    )
    beat = now - timedelta(seconds=45)
    interval = UncreditedInterval.objects.create(
        session=session,
        started_at=beat - timedelta(seconds=20),
        ended_at=beat,
        seconds=20,
        reason="PAUSED",
    )
    StudySession.objects.filter(pk=session.pk).update(
        face_failures=2,
        face_due_at=now - timedelta(seconds=5),
        quiz=pending,
        last_beat_at=beat,
        open_interval=interval,
        last_activity_at=now - timedelta(minutes=6),
    )
    data = client_for(personas.admin).get(DATA).json()
    row = {r["trainee"]: r for r in data["rows"]}["张三"]
    assert codes(row) == {
        "FACE_FAILED",
        "FACE_OVERDUE",
        "QUIZ_OVERDUE",
        "QUIZ_WRONG",
        "NO_HEARTBEAT",
        "NOT_CREDITED",
        "IDLE",
    }
    texts = {w["code"]: w["text"] for w in row["warnings"]}
    assert texts["FACE_FAILED"] == "人脸核验连续失败 2 次"
    assert texts["NOT_CREDITED"] == "未计时：暂停播放"
    assert texts["NO_HEARTBEAT"].endswith("秒无心跳")
    assert data["counts"] == {"live": 2, "awaiting_face": 2, "warnings": 1}
    html = client_for(personas.admin).get(LIVE).content.decode()
    assert "人脸抽查已超时未完成" in html and "live-warned" in html


def test_a_due_check_and_an_open_question_are_warnings_before_their_deadline(personas, live):
    now = timezone.now()
    session = live["studying"]
    question = LessonQuestion.objects.create(
        lesson=live["lesson"], text="?", options=["a", "b"], answer=0
    )
    pending = QuizAnswer.objects.create(
        session=session, question=question, asked_at=now, deadline=now + timedelta(seconds=60)
    )
    StudySession.objects.filter(pk=session.pk).update(
        face_due_at=now + timedelta(seconds=50), quiz=pending
    )
    row = rows(client_for(personas.admin).get(DATA))["张三"]
    assert codes(row) == {"FACE_DUE", "QUIZ_PENDING"}


def test_an_old_uncredited_interval_is_not_a_current_warning(personas, live):
    now = timezone.now()
    session = live["studying"]
    interval = UncreditedInterval.objects.create(
        session=session,
        started_at=now - timedelta(minutes=2),
        ended_at=now - timedelta(minutes=1),
        seconds=60,
        reason="HIDDEN",
    )
    StudySession.objects.filter(pk=session.pk).update(open_interval=interval)
    assert "NOT_CREDITED" not in codes(rows(client_for(personas.admin).get(DATA))["张三"])


def test_a_slow_start_check_is_a_warning(personas, live):
    StudySession.objects.filter(pk=live["awaiting"].pk).update(
        started_at=timezone.now() - timedelta(minutes=5)
    )
    assert "FACE_START_SLOW" in codes(rows(client_for(personas.admin).get(DATA))["王五"])


def test_one_audit_entry_per_page_load_not_per_poll(personas, live):
    client = client_for(personas.admin)
    views = AuditEntry.objects.filter(action="study.live_view")
    client.get(LIVE)
    assert views.count() == 1
    entry = views.get()
    assert entry.actor_id == personas.admin.pk and entry.institution_id == personas.inst_a.pk
    assert entry.detail == {"class": None, "rows": 2, "via": "page"}
    for _ in range(3):
        client.get(DATA)
    assert views.count() == 1
    client.get(LIVE)
    assert views.count() == 2


def test_polling_without_the_page_or_long_after_it_is_audited(personas, live):
    client = client_for(personas.admin)
    views = AuditEntry.objects.filter(action="study.live_view")
    client.get(DATA)
    client.get(DATA)
    assert views.count() == 1 and views.get().detail["via"] == "poll"
    session = client.session
    session["console.live_audited_at"] -= 601
    session.save()
    client.get(DATA)
    assert views.count() == 2


def test_the_refresh_interval_is_a_setting(personas, live, settings):
    settings.CONSOLE_LIVE_REFRESH_SECONDS = 7
    html = client_for(personas.admin).get(LIVE).content.decode()
    assert 'data-refresh-seconds="7"' in html
    assert client_for(personas.admin).get(DATA).json()["refresh_seconds"] == 7


def test_the_data_is_not_cached(personas, live):
    response = client_for(personas.admin).get(DATA)
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert json.loads(response.content)["ok"] is True


def _populate(personas, lesson, count: int, start_at: int) -> None:
    electricians = TrainingClass.objects.filter(name="电工一班").first() or class_of(
        personas.inst_a, personas.course, "电工一班"
    )
    question = LessonQuestion.objects.filter(
        lesson=lesson
    ).first() or LessonQuestion.objects.create(
        lesson=lesson, text="?", options=["a", "b"], answer=0
    )
    for i in range(count):
        profile = make_trainee(personas.inst_a, name=f"学员{i}", n=start_at + i).trainee_profile
        ClassMember.objects.create(training_class=electricians, trainee=profile)
        session = start(profile, lesson)
        face(session, "MATCH" if i % 2 else "MISMATCH", evidence=False)
        QuizAnswer.objects.create(
            session=session,
            question=question,
            asked_at=timezone.now(),
            deadline=timezone.now(),
            outcome=QuizAnswer.Outcome.WRONG,
        )


def _queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(DATA, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_sessions(personas):
    lesson = lesson_of(personas.course)
    client = client_for(personas.admin)
    client.get(LIVE)  # the page's audit entry: polls that follow write none
    _populate(personas, lesson, 3, 400)
    few = _queries(client)
    assert len(client.get(DATA).json()["rows"]) == 3
    _populate(personas, lesson, 27, 500)
    many = _queries(client)
    data = client.get(DATA).json()
    assert len(data["rows"]) == 30
    assert all(r["classes"] == "电工一班" and r["face"] for r in data["rows"])
    assert many == few, (few, many)
    assert many <= 6
    electricians = TrainingClass.objects.get(name="电工一班")
    assert _queries(client, {"class": electricians.pk}) == few + 1  # the class lookup


def test_staff_share_one_reading_for_a_moment_and_each_look_is_still_checked(personas, settings):
    """Two colleagues polling within CONSOLE_LIVE_SHARE_SECONDS cost one reading; the class
    filter and the institution keep readings apart; who may look is checked every time."""
    settings.CONSOLE_LIVE_SHARE_SECONDS = 60
    lesson = lesson_of(personas.course)
    admin, instructor = client_for(personas.admin), client_for(personas.instructor)
    _populate(personas, lesson, 3, 700)
    first = _queries(admin)
    shared = _queries(instructor)  # same institution, same filter: the reading is shared
    assert shared < first
    assert len(instructor.get(DATA).json()["rows"]) == 3
    _populate(personas, lesson, 2, 800)
    assert len(admin.get(DATA).json()["rows"]) == 3  # still the shared reading
    electricians = TrainingClass.objects.get(name="电工一班")
    assert len(admin.get(DATA, {"class": electricians.pk}).json()["rows"]) == 5  # its own
    # Another institution's admin sees their own (empty) reading, never this one.
    assert client_for(personas.other_admin).get(DATA).json()["rows"] == []
    # No access, no reading: the check comes before the cache.
    assert client_for(personas.trainee).get(DATA).status_code in (302, 403)
    settings.CONSOLE_LIVE_SHARE_SECONDS = 0
    assert len(admin.get(DATA).json()["rows"]) == 5
