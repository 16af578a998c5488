"""The trainee's exam pages (phone-first) and the JSON API the exam page calls."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from zhipei.accounts.models import TraineeProfile, User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.core.http import api_error, api_refusal, json_object
from zhipei.exams import services
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.selectors import exam_for_start, exam_for_trainee, exams_for_trainee
from zhipei.faces import services as face_services
from zhipei.faces.models import Purpose
from zhipei.faces.views import face_outcome, read_frames
from zhipei.trainee.views import trainee_page


def _profile(request: HttpRequest) -> TraineeProfile:
    user: User = request.user  # type: ignore[assignment]
    return user.trainee_profile


def _own_exam(request: HttpRequest, exam_id: int) -> Exam | None:
    return exam_for_trainee(_profile(request), exam_id)


def _state(attempt: Attempt, now: datetime | None = None) -> dict[str, Any]:
    """What the exam page needs: the paper as shown (never the answers), what was saved, and
    the server's clock."""
    now = now or timezone.now()
    face_due = services.face_due(attempt, now)
    return {
        "ok": True,
        "attempt": attempt.pk,
        "status": attempt.status,
        "remaining": max(0.0, round((attempt.deadline - now).total_seconds(), 1)),
        "face_due": face_due,
        "page_leaves": attempt.page_leaves,
        "answers": attempt.answers,
        "questions": [
            {
                "id": item["id"],
                "kind": item["kind"],
                "stem": item["stem"],
                "options": item["options"],
                "blanks": item["blanks"],
                "score": item["score"],
            }
            for item in attempt.paper
        ],
        "result_url": reverse("exams:result", args=[attempt.pk]),
    }


def _closed(attempt: Attempt) -> dict[str, Any]:
    return {
        "ok": True,
        "attempt": attempt.pk,
        "status": attempt.status,
        "end_reason": attempt.end_reason,
        "result_url": reverse("exams:result", args=[attempt.pk]),
    }


@require_POST
@require_perm(Perm.STUDY)
def api_face(request: HttpRequest, exam_id: int) -> JsonResponse:
    exam = _own_exam(request, exam_id)
    if exam is None:
        return api_error("EXAM_NOT_FOUND", _("考试不存在"), status=404)
    frames = read_frames(request)
    if isinstance(frames, JsonResponse):
        return frames
    try:
        attempt = services.exam_face_check(
            exam=exam,
            trainee=_profile(request),
            frames=frames,
            challenge=face_services.face_challenge_take(request.session, Purpose.EXAM_START),
            request=request,
        )
    except (services.ExamError, face_services.FaceError) as exc:
        return api_refusal(exc)
    return JsonResponse(face_outcome(attempt))


@require_POST
@require_perm(Perm.STUDY)
def api_start(request: HttpRequest, exam_id: int) -> JsonResponse:
    now = timezone.now()
    found = exam_for_start(_profile(request), exam_id, now)
    if found is None or not found[1].in_class:  # another class's exam does not exist for them
        return api_error("EXAM_NOT_FOUND", _("考试不存在"), status=404)
    exam, facts = found
    try:
        attempt = services.attempt_start(
            exam=exam, trainee=_profile(request), now=now, request=request, facts=facts
        )
    except services.ExamError as exc:
        return api_refusal(exc)
    return JsonResponse(_state(attempt))


@require_GET
@require_perm(Perm.STUDY)
def api_state(request: HttpRequest, attempt_id: int) -> JsonResponse:
    attempt = Attempt.objects.filter(pk=attempt_id, trainee=_profile(request)).first()
    if attempt is None:
        return api_error("ATTEMPT_NOT_FOUND", _("考试记录不存在"), status=404)
    attempt = services.attempt_settle(attempt=attempt)
    if attempt.status != Attempt.Status.IN_PROGRESS:
        return JsonResponse(_closed(attempt))
    return JsonResponse(_state(attempt))


@require_POST
@require_perm(Perm.STUDY)
def api_answer(request: HttpRequest, attempt_id: int) -> JsonResponse:
    data = json_object(request)
    if isinstance(data, JsonResponse):
        return data
    if "question" not in data or "value" not in data:
        return api_error("BAD_FIELD", _("缺少 question 或 value 字段"))
    try:
        attempt = services.attempt_answer(
            attempt_id=attempt_id,
            trainee=_profile(request),
            question_id=data["question"],
            value=data["value"],
        )
    except services.ExamError as exc:
        return api_refusal(exc)
    now = timezone.now()
    return JsonResponse(
        {
            "ok": True,
            "saved": len(attempt.answers),
            "remaining": max(0.0, round((attempt.deadline - now).total_seconds(), 1)),
            "face_due": services.face_due(attempt, now),
        }
    )


@require_POST
@require_perm(Perm.STUDY)
def api_leave(request: HttpRequest, attempt_id: int) -> JsonResponse:
    try:
        attempt = services.attempt_page_leave(attempt_id=attempt_id, trainee=_profile(request))
    except services.ExamError as exc:
        return api_refusal(exc)
    return JsonResponse({"ok": True, "page_leaves": attempt.page_leaves})


@require_POST
@require_perm(Perm.STUDY)
def api_recheck(request: HttpRequest, attempt_id: int) -> JsonResponse:
    frames = read_frames(request)
    if isinstance(frames, JsonResponse):
        return frames
    try:
        attempt, face = services.attempt_face_check(
            attempt_id=attempt_id,
            trainee=_profile(request),
            frames=frames,
            challenge_for=partial(face_services.face_challenge_take, request.session),
            request=request,
        )
    except (services.ExamError, face_services.FaceError) as exc:
        return api_refusal(exc)
    return JsonResponse(
        {
            **face_outcome(face),
            "status": attempt.status,
            "failures": attempt.face_failures_in_row,
            "result_url": reverse("exams:result", args=[attempt.pk]),
        }
    )


@require_POST
@require_perm(Perm.STUDY)
def api_submit(request: HttpRequest, attempt_id: int) -> JsonResponse:
    try:
        attempt = services.attempt_submit(attempt_id=attempt_id, trainee=_profile(request))
    except services.ExamError as exc:
        return api_refusal(exc)
    return JsonResponse(_closed(attempt))


# --- pages ---------------------------------------------------------------------------------------


@trainee_page
def my_exams(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    attempts: dict[int, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(trainee=profile).order_by("number"):
        attempts.setdefault(attempt.exam_id, []).append(attempt)
    now = timezone.now()
    rows = [
        {
            "exam": exam,
            "attempts": attempts.get(exam.pk, []),
            "left": max(0, exam.max_attempts - len(attempts.get(exam.pk, []))),
            "open": exam.is_open(now),
        }
        for exam in exams_for_trainee(profile).order_by("closes_at")
    ]
    return render(request, "exams/my_exams.html", {"rows": rows, "now": now})


@trainee_page
def take(request: HttpRequest, exam_id: int) -> HttpResponse:
    profile = _profile(request)
    exam = exam_for_trainee(profile, exam_id)
    if exam is None:
        raise Http404
    open_attempt = Attempt.objects.filter(
        exam=exam, trainee=profile, status=Attempt.Status.IN_PROGRESS
    ).first()
    if open_attempt is not None:
        open_attempt = services.attempt_settle(attempt=open_attempt)
        if open_attempt.status != Attempt.Status.IN_PROGRESS:
            open_attempt = None
    refusal = None if open_attempt else services.exam_refusal(exam, profile, timezone.now())
    used = Attempt.objects.filter(exam=exam, trainee=profile).count()
    return render(
        request,
        "exams/take.html",
        {
            "exam": exam,
            "open_attempt": open_attempt,
            "refusal": refusal,
            "left": max(0, exam.max_attempts - used),
            "response_seconds": settings.EXAM_FACE_RESPONSE_SECONDS,
        },
    )


def show_answers(attempt: Attempt, now: datetime | None = None) -> bool:
    policy = attempt.exam.show_answers
    if attempt.status != Attempt.Status.SUBMITTED or policy == Exam.ShowAnswers.NEVER:
        return False
    return (
        policy == Exam.ShowAnswers.AFTER_SUBMIT or (now or timezone.now()) >= attempt.exam.closes_at
    )


@trainee_page
def result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(
        Attempt.objects.select_related("exam").defer("exam__pool"),
        pk=attempt_id,
        trainee=_profile(request),
    )
    attempt = services.attempt_settle(attempt=attempt)
    reveal = show_answers(attempt)
    items = []
    for item in attempt.paper:
        given = attempt.answers.get(str(item["id"]))
        entry: dict[str, Any] = {
            "item": item,
            "given": _given_text(item, given),
            "mark": attempt.marks.get(str(item["id"])),
        }
        if reveal:
            entry["right"] = _right_text(item)
        items.append(entry)
    return render(
        request, "exams/result.html", {"attempt": attempt, "items": items, "reveal": reveal}
    )


LETTERS = "ABCDEFGH"


def _given_text(item: dict[str, Any], given: Any) -> str:
    if given is None:
        return _("未作答")
    if item["kind"] == "fill":
        return _("；").join(str(g) for g in given) or _("未作答")
    return "".join(
        LETTERS[i] for i in sorted(given) if isinstance(i, int) and 0 <= i < len(LETTERS)
    )


def _right_text(item: dict[str, Any]) -> str:
    if item["kind"] == "fill":
        return _("；").join(" / ".join(alts) for alts in item["answer"])
    shown = {bank: n for n, bank in enumerate(item["perm"])}
    return "".join(LETTERS[n] for n in sorted(shown[i] for i in item["answer"]))
