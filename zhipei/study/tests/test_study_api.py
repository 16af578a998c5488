"""Bad heartbeats are refused with a stable code and never change the ledger."""

import json

import pytest
from django.urls import reverse

from conftest import client_for
from zhipei.core.tests.factories import make_trainee
from zhipei.courses.models import Chapter, Lesson
from zhipei.study import services
from zhipei.study.models import StudySession, UncreditedInterval

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(personas):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    lesson = Lesson.objects.create(
        chapter=chapter, title="第一讲", duration_seconds=600, video="lessons/x.mp4"
    )
    return services.study_session_start(
        trainee=personas.trainee.trainee_profile,
        lesson=lesson,
        institution=personas.inst_a,
        device="d1",
    )


def post(client, session, body, raw=False, user=None):
    from zhipei.study.tokens import session_token

    user = user or session.trainee.user
    token = session_token(
        session_id=session.pk, user_id=user.pk, trainee_id=user.trainee_profile.pk
    )
    return client.post(
        reverse("study:api_heartbeat", args=[session.pk]),
        body if raw else json.dumps(body),
        content_type="application/json",
        headers={"X-Study-Token": token},
    )


GOOD = {
    "seq": 1,
    "position": 0,
    "rate": 1,
    "visible": True,
    "focused": True,
    "playing": True,
    "interacted": True,
}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "MALFORMED_JSON"),
        ("[1, 2]", "MALFORMED_JSON"),
        (json.dumps({**GOOD, "seq": "1"}), "BAD_FIELD"),
        (json.dumps({**GOOD, "seq": 0}), "BAD_FIELD"),
        (json.dumps({**GOOD, "position": "NaN"}), "BAD_FIELD"),
        (json.dumps({**GOOD, "position": -5}), "IMPOSSIBLE_POSITION"),
        (json.dumps({**GOOD, "position": 99999}), "IMPOSSIBLE_POSITION"),
        (json.dumps({**GOOD, "rate": 0}), "BAD_FIELD"),
        (json.dumps({**GOOD, "visible": "yes"}), "BAD_FIELD"),
        (json.dumps({**GOOD, "sent_at": -1}), "BAD_TIME"),
        (json.dumps({**GOOD, "state": 5}), "BAD_FIELD"),
    ],
)
def test_bad_heartbeats_get_stable_codes_and_change_nothing(personas, session, body, code):
    before = StudySession.objects.get(pk=session.pk).ledger
    response = post(client_for(personas.trainee), session, body, raw=True)
    assert response.status_code == 400 and response.json()["code"] == code, response.content
    assert StudySession.objects.get(pk=session.pk).ledger == before
    assert not UncreditedInterval.objects.exists()


def test_another_trainees_session_is_refused(personas, session):
    other = make_trainee(personas.inst_a, name="王五")
    # A token issued to someone else for this session id: the row lookup refuses it.
    response = post(client_for(other), session, GOOD, user=other)
    assert response.status_code == 404 and response.json()["code"] == "SESSION_NOT_FOUND"
    # No token, a forged one, or one for another session: refused before anything is read.
    url = reverse("study:api_heartbeat", args=[session.pk])
    for headers in ({}, {"X-Study-Token": "forged:token"}):
        answer = client_for(personas.trainee).post(
            url, json.dumps(GOOD), content_type="application/json", headers=headers
        )
        assert answer.status_code == 403 and answer.json()["code"] == "BAD_TOKEN"
    from zhipei.study.tokens import session_token

    wrong = session_token(session_id=session.pk + 1, user_id=personas.trainee.pk)
    answer = client_for(personas.trainee).post(
        url, json.dumps(GOOD), content_type="application/json", headers={"X-Study-Token": wrong}
    )
    assert answer.status_code == 403


def test_a_good_heartbeat_and_its_duplicate(personas, session):
    client = client_for(personas.trainee)
    assert post(client, session, GOOD).json()["status"] == "awaiting_face"
    ledger = StudySession.objects.get(pk=session.pk).ledger
    assert post(client, session, GOOD).status_code == 200  # replay: accepted as a no-op
    assert StudySession.objects.get(pk=session.pk).ledger == ledger


def test_starting_needs_a_lesson_of_ones_own_institution(personas, session):
    other_course_lesson = session.lesson
    response = client_for(personas.trainee_b).post(
        reverse("study:api_start", args=[other_course_lesson.pk])
    )
    assert response.status_code == 404 and response.json()["code"] == "LESSON_NOT_FOUND"


def test_a_body_too_big_for_a_heartbeat_is_refused(personas, session):
    body = json.dumps({**GOOD, "pad": "x" * 9000})
    response = post(client_for(personas.trainee), session, body, raw=True)
    assert response.status_code == 413 and response.json()["code"] == "TOO_LARGE"
    assert response.json()["message"]
