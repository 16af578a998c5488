"""The heartbeat lane (study/lane.py) answers heartbeats as the Django view does, with the same
headers, and hands every other request to Django."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from zhipei.courses.models import Chapter, Lesson
from zhipei.study import services
from zhipei.study.lane import HEADER_MIDDLEWARE, NOT_FOR_HEARTBEATS, PATH, HeartbeatLane
from zhipei.study.tokens import session_token
from zhipei.study.views import HEARTBEAT_MAX_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def django_app():
    # As Django's test client does: the test's transaction outlives each "request".
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def lane_in_front_of(app) -> HeartbeatLane:
    lane = HeartbeatLane(app)
    lane.recycle_connections = lambda: None  # the same, for the lane
    return lane


@pytest.fixture
def lane(django_app):
    return lane_in_front_of(django_app)


@pytest.fixture
def session(personas, monkeypatch):
    """An active session, past its start face check."""
    monkeypatch.setattr(services, "face_verify", lambda **kw: SimpleNamespace(passed=True))
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    lesson = Lesson.objects.create(
        chapter=chapter, title="第一讲", duration_seconds=600, video="lessons/x.mp4"
    )
    profile = personas.trainee.trainee_profile
    started = services.study_session_start(
        trainee=profile, lesson=lesson, institution=personas.inst_a, device="d1"
    )
    services.study_face_check(session_id=started.pk, trainee=profile, frames=[])
    return started


def token_for(session) -> str:
    profile = session.trainee
    return session_token(session_id=session.pk, user_id=profile.user_id, trainee_id=profile.pk)


def request(session, body: Any = None, *, raw: bytes | None = None, **kwargs: Any):
    """A heartbeat request's WSGI environ (a fresh one per call: its body is read once)."""
    headers = kwargs.pop("headers", {"X-Study-Token": token_for(session)})
    data = raw if raw is not None else json.dumps(body)
    path = kwargs.pop("path", reverse("study:api_heartbeat", args=[session.pk]))
    return (
        RequestFactory()
        .post(path, data, content_type="application/json", headers=headers, **kwargs)
        .environ
    )


def call(app, environ) -> tuple[int, dict[str, str], bytes]:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        got["status"], got["headers"] = int(status.split()[0]), dict(headers)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return got["status"], got["headers"], body


def beat(seq: int, position: float, state: str | None = None) -> dict[str, Any]:
    flags = {"rate": 1, "visible": True, "focused": True, "playing": True, "interacted": True}
    return {"seq": seq, "position": position, **flags} | ({"state": state} if state else {})


def test_the_lane_takes_the_heartbeat_url():
    for session_id in (1, 42, 10**17):
        assert PATH.fullmatch(reverse("study:api_heartbeat", args=[session_id]))
    assert not PATH.fullmatch("/study/api/sessions/1/heartbeat/x")
    assert not PATH.fullmatch(reverse("study:api_face", args=[1]))


def test_every_middleware_is_either_run_by_the_lane_or_not_needed_by_heartbeats():
    assert set(django_settings.MIDDLEWARE) == set(HEADER_MIDDLEWARE) | set(NOT_FOR_HEARTBEATS)


def test_gunicorns_application_is_the_lane():
    import zhipei.wsgi

    assert isinstance(zhipei.wsgi.application, HeartbeatLane)


def test_heartbeats_take_either_way_alike(session, lane, django_app):
    """Lane and view alternate on one session: same answers, and each one's sealed row saves
    the other's next heartbeat its read."""
    status, headers, body = call(lane, request(session, beat(1, 0)))
    assert status == 200 and headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["status"] == "active" and answer["state"]
    for seq, app in ((2, django_app), (3, lane), (4, django_app)):
        with CaptureQueriesContext(connection) as queries:
            status, _, body = call(app, request(session, beat(seq, 0.1 * seq, answer["state"])))
        assert status == 200, body
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
        answer = json.loads(body)
        assert answer["status"] == "active" and answer["state"]
    session.refresh_from_db()
    assert session.ledger["last_seq"] == 4


def test_headers_are_the_views(session, lane, django_app, settings):
    state = None
    for secure in (False, True):
        settings.SECURE_HSTS_SECONDS = 3600 if secure else 0
        # Both read the settings once per process (Django's middleware when it is built).
        django_app = WSGIHandler()
        fresh = lane_in_front_of(django_app)
        answers = []
        for seq, app in ((1 + 2 * secure, fresh), (2 + 2 * secure, django_app)):
            status, headers, body = call(
                app, request(session, beat(seq, seq * 0.1, state), secure=secure)
            )
            assert status == 200
            state = json.loads(body)["state"]
            answers.append({k: v for k, v in headers.items() if k != "Content-Length"})
        assert answers[0] == answers[1]
        assert ("Strict-Transport-Security" in answers[0]) is secure
        assert answers[0]["Content-Security-Policy"].startswith("default-src 'self'")
        assert answers[0]["X-Frame-Options"] == "DENY"


def test_refusals_are_the_views(session, lane, django_app):
    other_path = reverse("study:api_heartbeat", args=[session.pk + 1])
    cases: list[dict[str, Any]] = [
        {"body": beat(1, 0), "headers": {}},
        {"body": beat(1, 0), "headers": {"X-Study-Token": "forged:token"}},
        {"body": beat(1, 0), "path": other_path},
        {"raw": b"{not json"},
        {"raw": b"[1, 2]"},
        {"body": beat(1, -5)},
        {"body": beat(1, 0) | {"rate": 0}},
        {"body": beat(1, 0) | {"state": 5}},
        {"raw": json.dumps(beat(1, 0) | {"pad": "x" * HEARTBEAT_MAX_BYTES}).encode()},
    ]
    session.refresh_from_db()
    ledger = session.ledger
    for case in cases:
        by_lane = call(lane, request(session, **case))
        by_view = call(django_app, request(session, **case))
        assert by_lane[0] == by_view[0] >= 400, (case, by_lane, by_view)
        assert json.loads(by_lane[2]) == json.loads(by_view[2])
        assert json.loads(by_lane[2])["code"]
    session.refresh_from_db()
    assert session.ledger == ledger


def test_other_requests_go_to_django(session, django_app, settings):
    seen: list[str] = []

    def spy(environ, start_response):
        seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return django_app(environ, start_response)

    lane = lane_in_front_of(spy)
    url = reverse("study:api_heartbeat", args=[session.pk])
    assert call(lane, RequestFactory().get(url).environ)[0] == 405
    assert call(lane, RequestFactory().post("/livez").environ)[0] == 403  # Django's CSRF check
    # A host Django refuses, and plain HTTP where HTTPS is required: Django answers them.
    assert call(lane, request(session, beat(1, 0), headers={"Host": "evil.example"}))[0] == 400
    settings.SECURE_SSL_REDIRECT = True
    django_app = WSGIHandler()  # its middleware reads the settings when it is built
    assert call(lane, request(session, beat(1, 0)))[0] == 301
    assert call(lane, request(session, beat(1, 0), secure=True))[0] == 200
    assert seen == [f"GET {url}", "POST /livez", f"POST {url}", f"POST {url}"]


def test_an_error_is_logged_and_answered_with_a_code(session, lane, caplog):
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    lane.answer = broken
    with caplog.at_level("ERROR", logger="django.request"):
        status, _, body = call(lane, request(session, beat(1, 0)))
    assert status == 500 and json.loads(body)["code"] == "SERVER_ERROR"
    assert any("boom" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


def test_connections_are_recycled_after_every_answer(session, django_app):
    lane = lane_in_front_of(django_app)
    recycled: list[int] = []
    lane.recycle_connections = lambda: recycled.append(1)
    call(lane, request(session, beat(1, 0)))
    call(lane, request(session, beat(2, 0), headers={}))  # refused
    lane.answer = lambda *args: 1 / 0
    call(lane, request(session, beat(3, 0)))
    assert len(recycled) == 3


def test_refusals_are_logged_as_django_logs_them(session, lane, caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        status, _, _ = call(lane, request(session, beat(1, 0), headers={"X-Study-Token": "x"}))
    assert status == 403
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"Forbidden: {reverse('study:api_heartbeat', args=[session.pk])}")
    ]
