"""Races that only a real database with concurrent connections shows (PostgreSQL, as in CI)."""

import threading

import pytest
from django.db import connection, connections

from zhipei.accounts import services as account_services
from zhipei.accounts.models import SmsCode
from zhipei.courses.models import Chapter, Lesson
from zhipei.study import services as study_services
from zhipei.study.models import StudySession

pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(count, target):
    barrier = threading.Barrier(count)
    errors = []

    def run(n):
        try:
            barrier.wait()
            target(n)
        except Exception as exc:  # collected, the test decides
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections to PostgreSQL (CI runs it)")


def test_parallel_sms_requests_cannot_beat_the_60_second_limit(db):
    errors = in_parallel(
        8,
        lambda n: account_services.sms_code_send(
            phone="13800138000", purpose="register", ip=f"10.0.0.{n}"
        ),
    )
    assert SmsCode.objects.count() == 1
    assert len(errors) == 7 and all(isinstance(e, account_services.SmsRateLimited) for e in errors)


def test_parallel_starts_leave_one_live_session(personas):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    lesson = Lesson.objects.create(
        chapter=chapter, title="第一讲", duration_seconds=600, video="lessons/x.mp4"
    )
    profile = personas.trainee.trainee_profile
    errors = in_parallel(
        4,
        lambda n: study_services.study_session_start(
            trainee=profile, lesson=lesson, institution=personas.inst_a, device=f"d{n}"
        ),
    )
    assert not errors
    assert StudySession.objects.filter(trainee=profile).exclude(status="ended").count() == 1
    assert StudySession.objects.filter(trainee=profile, end_reason="concurrent").count() == 3


def test_parallel_password_guesses_are_all_counted(personas, rf):
    from django.contrib.auth.models import AnonymousUser

    from zhipei.accounts.models import User
    from zhipei.audit.models import AuditEntry

    def guess(n):
        request = rf.post("/console/login/")
        request.user = AnonymousUser()
        account_services.staff_check_password(
            username="admin_a", password=f"wrong-{n}", request=request
        )

    errors = in_parallel(10, guess)
    assert len(errors) == 10
    assert User.objects.get(username="admin_a").is_locked()
    checked = AuditEntry.objects.filter(action="login.failure", detail__reason="password").count()
    assert checked == 5  # the rest were refused as locked before any password was checked
