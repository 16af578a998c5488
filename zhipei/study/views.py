"""The supervised player (trainee, phone-first) and its JSON API."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.core.http import (
    BadRequest,
    api_error,
    api_refusal,
    json_object,
    loads_object,
    refusal_of,
)
from zhipei.courses.delivery import lesson_video_url
from zhipei.faces import services as face_services
from zhipei.faces.views import face_outcome, read_frames
from zhipei.study import services
from zhipei.study.policy import policy_for
from zhipei.study.selectors import (
    courses_for_trainee,
    lessons_for_trainee,
    progress_by_lesson,
    sessions_of,
    xueshi,
)
from zhipei.study.tokens import read_session_token, session_token
from zhipei.trainee.views import trainee_page


def _number(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(key)
    return float(value)


def _flag(data: dict[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(key)
    return value


@require_POST
@require_perm(Perm.STUDY)
def api_start(request: HttpRequest, lesson_id: int) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    profile = user.trainee_profile
    lesson = lessons_for_trainee(profile).filter(pk=lesson_id).first()
    if lesson is None:
        return api_error("LESSON_NOT_FOUND", _("课时不存在"), status=404)
    try:
        session = services.study_session_start(
            trainee=profile,
            lesson=lesson,
            institution=lesson.chapter.course.institution,
            device=request.POST.get("device", "")[:64] or "web",
            user_agent=request.headers.get("User-Agent", ""),
            request=request,
        )
    except services.StudyError as exc:
        return api_refusal(exc)
    return JsonResponse(
        {
            "ok": True,
            "session": session.pk,
            # Valid for the whole lesson and then some: Range requests go on while it plays.
            "video_url": lesson_video_url(
                lesson=lesson,
                user=user,
                seconds=settings.LESSON_URL_SECONDS + 2 * lesson.duration_seconds,
            ),
            "resume": session.ledger.get("furthest", 0.0),
            "duration": lesson.duration_seconds,
            "heartbeat_seconds": policy_for(session.institution).heartbeat_seconds,
            "token": session_token(session_id=session.pk, user_id=user.pk, trainee_id=profile.pk),
        }
    )


# A heartbeat is a few hundred bytes and its sealed row; anything much bigger is not one.
HEARTBEAT_MAX_BYTES = 8 * 1024


def heartbeat_answer(session_id: int, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """One heartbeat request, as the view below or the heartbeat lane (``study/lane.py``)
    received it: the HTTP status and the JSON answer."""
    try:
        claims = read_session_token(token)
        if claims is None or claims.session_id != session_id:
            raise BadRequest("BAD_TOKEN", _("学习凭证无效或已过期，请刷新页面"), status=403)
        if len(body) > HEARTBEAT_MAX_BYTES:
            raise BadRequest("TOO_LARGE", _("请求内容过大"), status=413)
        beat, state = _heartbeat_input(loads_object(body))
        return 200, services.heartbeat_record(
            session_id=session_id,
            user_id=claims.user_id,
            trainee_id=claims.trainee_id,
            beat=beat,
            sealed=state,
        )
    except (BadRequest, services.StudyError) as exc:
        return exc.status, refusal_of(exc)


def _heartbeat_input(data: dict[str, Any]) -> tuple[services.HeartbeatInput, str | None]:
    try:
        seq = data.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**31:
            raise ValueError("seq")
        position, rate = _number(data, "position"), _number(data, "rate")
        beat = services.HeartbeatInput(
            seq=seq,
            position=position,
            rate=rate,
            visible=_flag(data, "visible"),
            focused=_flag(data, "focused"),
            playing=_flag(data, "playing"),
            interacted=_flag(data, "interacted"),
        )
        state = data.get("state")
        if state is not None and not isinstance(state, str):
            raise ValueError("state")
    except ValueError as exc:
        raise BadRequest(
            "BAD_FIELD", _("字段 %(field)s 缺失或格式不正确") % {"field": exc}, field=str(exc)
        ) from None
    if beat.position < 0 or not 0 < beat.rate <= 16:
        raise BadRequest(
            "IMPOSSIBLE_POSITION" if beat.position < 0 else "BAD_FIELD", _("播放位置或倍速不合理")
        )
    sent_at = data.get("sent_at")
    if sent_at is not None and (not isinstance(sent_at, int | float) or sent_at < 0):
        raise BadRequest("BAD_TIME", _("时间不合理"))
    return beat, state


# Authenticated by the session's signed token in a header, not by cookies (see study/tokens.py):
# a cross-site request can neither know the token nor send the header without CORS, so the CSRF
# check has nothing to protect here, and the heartbeat is the hottest path. In production the
# heartbeat lane in front of Django answers these requests (study/lane.py); this view answers
# them wherever the lane is not in front (the test client, a live test server).
@csrf_exempt
@require_POST
def api_heartbeat(request: HttpRequest, session_id: int) -> JsonResponse:
    status, answer = heartbeat_answer(
        session_id, request.META.get("HTTP_X_STUDY_TOKEN", ""), request.body
    )
    return JsonResponse(answer, status=status)


@require_POST
@require_perm(Perm.STUDY)
def api_face(request: HttpRequest, session_id: int) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    frames = read_frames(request)
    if isinstance(frames, JsonResponse):
        return frames
    try:
        session, attempt = services.study_face_check(
            session_id=session_id,
            trainee=user.trainee_profile,
            frames=frames,
            challenge_for=partial(face_services.face_challenge_take, request.session),
            request=request,
        )
    except (services.StudyError, face_services.FaceError) as exc:
        return api_refusal(exc)
    return JsonResponse(
        {
            **face_outcome(attempt),
            "status": session.status,
            "end_reason": session.end_reason,
            "failures": session.face_failures,
        }
    )


@require_POST
@require_perm(Perm.STUDY)
def api_quiz(request: HttpRequest, session_id: int) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    data = json_object(request)
    if isinstance(data, JsonResponse):
        return data
    quiz, choice = data.get("quiz"), data.get("choice")
    if (
        not isinstance(quiz, int)
        or isinstance(quiz, bool)
        or not isinstance(choice, int)
        or isinstance(choice, bool)
    ):
        return api_error("BAD_FIELD", _("字段 quiz 或 choice 格式不正确"))
    try:
        return JsonResponse(
            services.quiz_answer(
                session_id=session_id, trainee=user.trainee_profile, quiz_id=quiz, choice=choice
            )
        )
    except services.StudyError as exc:
        return api_refusal(exc)


@require_POST
@require_perm(Perm.STUDY)
def api_activity(request: HttpRequest, session_id: int) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        return JsonResponse(
            services.study_activity(session_id=session_id, trainee=user.trainee_profile)
        )
    except services.StudyError as exc:
        return api_refusal(exc)


@require_POST
@require_perm(Perm.STUDY)
def api_end(request: HttpRequest, session_id: int) -> JsonResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        session = services.study_session_end(session_id=session_id, trainee=user.trainee_profile)
    except services.StudyError as exc:
        return api_refusal(exc)
    return JsonResponse(
        {"ok": True, "status": session.status, "credited": round(session.confirmed_seconds, 1)}
    )


# --- pages ---------------------------------------------------------------------------------------


@trainee_page
def my_study(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    profile = user.trainee_profile
    progress = progress_by_lesson(profile)
    courses = []
    for course in courses_for_trainee(profile).distinct():
        lessons = [
            (lesson, progress.get(lesson.pk))
            for ch in course.chapters.all()
            for lesson in ch.lessons.all()
        ]
        credited = sum(p.credited_seconds for _lesson, p in lessons if p)
        courses.append(
            {
                "course": course,
                "lessons": lessons,
                "credited_xueshi": xueshi(credited),
                "required_xueshi": course.theory_hours,
            }
        )
    return render(request, "study/my_study.html", {"courses": courses})


@trainee_page
def player(request: HttpRequest, lesson_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    lesson = get_object_or_404(lessons_for_trainee(user.trainee_profile), pk=lesson_id)
    progress = progress_by_lesson(user.trainee_profile).get(lesson.pk)
    return render(request, "study/player.html", {"lesson": lesson, "progress": progress})


@trainee_page
def my_records(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request, "study/records.html", {"sessions": sessions_of(user.trainee_profile)[:50]}
    )


# The guard would load the Django session and user for nothing: the token is the credential.
api_heartbeat.skips_session_guard = True  # type: ignore[attr-defined]
