"""Exam writes: the bank, papers, exams, and a trainee's attempt from face check to grade.

The server's clock is the only clock: an attempt's deadline is fixed when it starts, an answer
that arrives after it (beyond a small grace for the network) is refused, and an attempt past
its deadline is submitted by whoever touches it first (the trainee, the result page, or
``attempts_expire``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zhipei.accounts.models import TraineeProfile
from zhipei.audit.services import audit_log
from zhipei.courses.models import Chapter, ClassMember, Course, Lesson
from zhipei.exams.grading import grade_item, valid_answer
from zhipei.exams.models import JUDGE_OPTIONS, Attempt, Exam, Paper, PaperQuestion, Question
from zhipei.exams.selectors import StartFacts, exam_for_start
from zhipei.faces.models import FaceAttempt, Purpose
from zhipei.faces.services import face_verify
from zhipei.institutions.models import Institution

if TYPE_CHECKING:
    from zhipei.accounts.models import User

_rng = random.SystemRandom()
MAX_OPTIONS = 8
MAX_BLANKS = 10


class ExamError(Exception):
    """A refusal with a stable code (API) and a Chinese message (UI)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# --- the bank ------------------------------------------------------------------------------------


def question_clean(
    *, kind: str, stem: str, options: list[str], answer: Any
) -> tuple[str, list[str], Any]:
    """The stem, options and answer of a question of ``kind`` in their stored form, or ValueError
    with a Chinese message saying what is wrong."""
    stem = (stem or "").strip()
    if not stem:
        raise ValueError(_("题干不能为空"))
    if len(stem) > 2000:
        raise ValueError(_("题干不能超过 2000 字"))
    if kind not in Question.Kind.values:
        raise ValueError(_("题型应为单选题、多选题、判断题或填空题"))
    if kind == Question.Kind.FILL:
        if not isinstance(answer, list) or not 1 <= len(answer) <= MAX_BLANKS:
            raise ValueError(_("填空题应有 1–%(max)s 个空的答案") % {"max": MAX_BLANKS})
        blanks = []
        for n, accepted in enumerate(answer, start=1):
            alternatives = [str(a).strip() for a in accepted if str(a).strip()]
            if not alternatives:
                raise ValueError(_("第 %(n)s 个空没有答案") % {"n": n})
            blanks.append(alternatives)
        return stem, [], blanks
    if kind == Question.Kind.JUDGE:
        options = list(JUDGE_OPTIONS)
    else:
        options = [str(o).strip() for o in options if str(o).strip()]
        if not 2 <= len(options) <= MAX_OPTIONS:
            raise ValueError(_("选择题应有 2–%(max)s 个选项") % {"max": MAX_OPTIONS})
        if len(set(options)) != len(options):
            raise ValueError(_("选项不能重复"))
    if not isinstance(answer, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(options) for i in answer
    ):
        raise ValueError(_("答案应为选项中的一个或几个"))
    indexes = sorted(set(answer))
    if kind in (Question.Kind.SINGLE, Question.Kind.JUDGE) and len(indexes) != 1:
        raise ValueError(_("单选题和判断题只有一个正确答案"))
    if kind == Question.Kind.MULTIPLE and len(indexes) < 2:
        raise ValueError(_("多选题至少两个正确答案"))
    return stem, options, indexes


def _check_catalogue(
    institution: Institution, course: Course | None, chapter: Chapter | None
) -> None:
    if course is not None and course.institution_id != institution.pk:
        raise ValueError(_("课程不属于本机构"))
    if chapter is not None and (
        chapter.course.institution_id != institution.pk
        or (course is not None and chapter.course_id != course.pk)
    ):
        raise ValueError(_("章节不属于该课程"))


def question_create(
    *,
    institution: Institution,
    by: User | None,
    kind: str,
    stem: str,
    options: list[str],
    answer: Any,
    difficulty: int = Question.Difficulty.MEDIUM,
    course: Course | None = None,
    chapter: Chapter | None = None,
    analysis: str = "",
) -> Question:
    stem, options, answer = question_clean(kind=kind, stem=stem, options=options, answer=answer)
    _check_catalogue(institution, course, chapter)
    with transaction.atomic():
        question = Question.objects.create(
            institution=institution,
            kind=kind,
            stem=stem,
            options=options,
            answer=answer,
            difficulty=difficulty,
            course=course or (chapter.course if chapter else None),
            chapter=chapter,
            analysis=analysis.strip(),
        )
        audit_log(
            action="question_bank.create",
            actor=by,
            target=question,
            institution_id=institution.pk,
        )
    return question


def question_update(*, question: Question, by: User | None, **fields: Any) -> Question:
    """Edit a bank question. Attempts already drawn keep the version they were given."""
    kind = fields.get("kind", question.kind)
    stem, options, answer = question_clean(
        kind=kind,
        stem=fields.get("stem", question.stem),
        options=fields.get("options", question.options),
        answer=fields.get("answer", question.answer),
    )
    course = fields.get("course", question.course)
    chapter = fields.get("chapter", question.chapter)
    _check_catalogue(question.institution, course, chapter)
    with transaction.atomic():
        question.kind, question.stem, question.options, question.answer = (
            kind,
            stem,
            options,
            answer,
        )
        question.course, question.chapter = course, chapter
        question.difficulty = fields.get("difficulty", question.difficulty)
        question.analysis = fields.get("analysis", question.analysis).strip()
        question.active = fields.get("active", question.active)
        question.save()
        audit_log(
            action="question_bank.update",
            actor=by,
            target=question,
            institution_id=question.institution_id,
        )
    return question


# --- papers --------------------------------------------------------------------------------------


def _candidates(institution_id: int, rule: dict[str, Any]) -> Any:
    filters: dict[str, Any] = {"institution_id": institution_id, "active": True}
    filters["kind"] = rule["kind"]
    for key in ("course", "chapter", "difficulty"):
        if rule.get(key) is not None:
            filters[f"{key}_id" if key != "difficulty" else key] = rule[key]
    return Question.objects.filter(**filters)


def paper_rules_clean(institution: Institution, rules: Any) -> list[dict[str, Any]]:
    """Rules in their stored form; ValueError when one is malformed or the bank has too few
    questions for it (counted with the questions earlier rules may take)."""
    if not isinstance(rules, list) or not rules:
        raise ValueError(_("随机组卷至少需要一条抽题规则"))
    cleaned = []
    for n, rule in enumerate(rules, start=1):
        try:
            kind = rule["kind"]
            count = int(rule["count"])
            score = Decimal(str(rule["score"]))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise ValueError(_("第 %(n)s 条规则应写明题型、数量和每题分值") % {"n": n}) from None
        if kind not in Question.Kind.values or not 1 <= count <= 200 or not 0 < score <= 100:
            raise ValueError(
                _("第 %(n)s 条规则的题型、数量（1–200）或分值（0–100）不正确") % {"n": n}
            )
        item: dict[str, Any] = {"kind": kind, "count": count, "score": str(score)}
        for key in ("course", "chapter", "difficulty"):
            if rule.get(key) not in (None, ""):
                item[key] = int(rule[key])
        cleaned.append(item)
    for n, rule in enumerate(cleaned, start=1):
        available = _candidates(institution.pk, rule).count()
        wanted = sum(r["count"] for r in cleaned if _same_pool(r, rule))
        if available < wanted:
            raise ValueError(
                _("第 %(n)s 条规则需要 %(wanted)s 道题，题库中符合条件的只有 %(available)s 道")
                % {"n": n, "wanted": wanted, "available": available}
            )
    return cleaned


def _same_pool(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("kind", "course", "chapter", "difficulty"))


def paper_create(
    *,
    institution: Institution,
    title: str,
    by: User | None,
    items: list[tuple[Question, Decimal]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    shuffle_questions: bool = True,
    shuffle_options: bool = True,
) -> Paper:
    """A fixed paper (``items``: questions with their scores) or a random one (``rules``)."""
    if not title.strip():
        raise ValueError(_("试卷名称不能为空"))
    if (items is None) == (rules is None):
        raise ValueError(_("试卷应为固定试卷或随机抽题之一"))
    if items is not None:
        if not items:
            raise ValueError(_("固定试卷至少需要一道题"))
        if any(q.institution_id != institution.pk or not q.active for q, _score in items):
            raise ValueError(_("试卷只能使用本机构题库中启用的题目"))
        if len({q.pk for q, _score in items}) != len(items):
            raise ValueError(_("同一道题不能重复出现"))
        if any(not 0 < Decimal(s) <= 100 for _q, s in items):
            raise ValueError(_("每题分值应在 0–100 之间"))
    cleaned = paper_rules_clean(institution, rules) if rules is not None else []
    with transaction.atomic():
        paper = Paper.objects.create(
            institution=institution,
            title=title.strip(),
            mode=Paper.Mode.FIXED if items is not None else Paper.Mode.RANDOM,
            rules=cleaned,
            shuffle_questions=shuffle_questions,
            shuffle_options=shuffle_options,
        )
        PaperQuestion.objects.bulk_create(
            PaperQuestion(paper=paper, question=q, position=n, score=Decimal(s))
            for n, (q, s) in enumerate(items or [], start=1)
        )
        audit_log(action="paper.create", actor=by, target=paper, institution_id=institution.pk)
    return paper


def exam_create(*, institution: Institution, by: User | None, **fields: Any) -> Exam:
    """An exam over a paper of the same institution, after a lesson, a course or a class of it."""
    exam = Exam(institution=institution, **fields)
    if exam.paper.institution_id != institution.pk:
        raise ValueError(_("试卷不属于本机构"))
    target = {
        Exam.Scope.LESSON: exam.lesson and exam.lesson.chapter.course.institution_id,
        Exam.Scope.COURSE: exam.course and exam.course.institution_id,
        Exam.Scope.CLASS: exam.training_class and exam.training_class.institution_id,
    }.get(exam.scope)  # type: ignore[call-overload]
    if target != institution.pk:
        raise ValueError(_("请为考试选择本机构的课时、课程或培训班"))
    if exam.closes_at <= exam.opens_at:
        raise ValueError(_("截止时间应晚于开始时间"))
    if not 1 <= exam.duration_minutes <= 600:
        raise ValueError(_("考试时长应为 1–600 分钟"))
    if not 1 <= exam.max_attempts <= 20:
        raise ValueError(_("可考次数应为 1–20 次"))
    if not Decimal(settings.EXAM_PASS_MARK) <= exam.pass_mark <= 100:
        raise ValueError(
            _("及格分不能低于平台设定的 %(mark)s 分，也不能高于 100 分")
            % {"mark": settings.EXAM_PASS_MARK}
        )
    exam.pool = paper_pool(exam.paper)
    try:
        pool_draw(exam.pool)
    except ExamError:
        raise ValueError(_("题库中符合抽题规则的题目不足，无法组卷")) from None
    with transaction.atomic():
        exam.save()
        audit_log(action="exam.create", actor=by, target=exam, institution_id=institution.pk)
    return exam


# --- drawing a paper -----------------------------------------------------------------------------


def _base(question: Question, score: Decimal) -> dict[str, Any]:
    """A question as frozen into an exam's pool, with its score."""
    return {
        "id": question.pk,
        "kind": question.kind,
        "stem": question.stem,
        "options": question.options,
        "answer": question.answer,
        "blanks": len(question.answer) if question.kind == Question.Kind.FILL else 0,
        "score": str(score),
        "analysis": question.analysis,
    }


def paper_pool(paper: Paper) -> dict[str, Any]:
    """What attempts of an exam over ``paper`` are drawn from: groups of questions, each with
    how many to draw (None: all of them, a fixed paper)."""
    if paper.mode == Paper.Mode.FIXED:
        groups = [
            {
                "count": None,
                "items": [
                    _base(item.question, item.score)
                    for item in paper.items.select_related("question")
                ],
            }
        ]
    else:
        groups = [
            {
                "count": rule["count"],
                "items": [
                    _base(q, Decimal(rule["score"]))
                    for q in _candidates(paper.institution_id, rule).order_by("pk")
                ],
            }
            for rule in paper.rules
        ]
    return {
        "shuffle_questions": paper.shuffle_questions,
        "shuffle_options": paper.shuffle_options,
        "groups": groups,
    }


_POOLS: dict[int, dict[str, Any]] = {}  # exam id -> its (immutable) pool, per process
_POOLS_MAX = 256


def clear_pool_cache() -> None:
    """For tests, whose rolled-back exams' ids come again."""
    _POOLS.clear()


def exam_pool(exam: Exam) -> dict[str, Any]:
    pool = _POOLS.get(exam.pk)
    if pool is None:
        pool = Exam.objects.filter(pk=exam.pk).values_list("pool", flat=True).get()
        if len(_POOLS) >= _POOLS_MAX:
            _POOLS.clear()
        _POOLS[exam.pk] = pool
    return pool


def pool_draw(pool: dict[str, Any]) -> list[dict[str, Any]]:
    """One trainee's paper: every group's draw (no question twice), options and questions in
    an order of their own. Each item keeps ``perm`` (shown index -> bank index) to grade by."""
    chosen: dict[int, dict[str, Any]] = {}
    for group in pool["groups"]:
        candidates = [q for q in group["items"] if q["id"] not in chosen]
        count = len(candidates) if group["count"] is None else group["count"]
        if len(candidates) < count:
            raise ExamError("BANK_TOO_SMALL", _("题库题目不足，无法组卷，请联系机构"), status=409)
        for q in _rng.sample(candidates, count) if group["count"] is not None else candidates:
            chosen[q["id"]] = q
    items = []
    for q in chosen.values():
        perm = list(range(len(q["options"])))
        if pool["shuffle_options"] and q["kind"] in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            _rng.shuffle(perm)
        items.append({**q, "options": [q["options"][i] for i in perm], "perm": perm})
    if pool["shuffle_questions"]:
        _rng.shuffle(items)
    return items


# --- sitting an exam -----------------------------------------------------------------------------


def exam_refusal(
    exam: Exam,
    trainee: TraineeProfile,
    now: datetime,
    *,
    used: int | None = None,
    in_class: bool | None = None,
) -> ExamError | None:
    """Why the trainee may not start (another attempt of) the exam now, if they may not.
    ``used`` (how many attempts they have had) and ``in_class``: when the caller knows."""
    if now < exam.opens_at:
        return ExamError("EXAM_NOT_OPEN", _("考试尚未开始"), status=409)
    if now >= exam.closes_at:
        return ExamError("EXAM_CLOSED", _("考试已截止"), status=409)
    if exam.scope == Exam.Scope.CLASS and not (
        in_class
        if in_class is not None
        else ClassMember.objects.filter(
            training_class_id=exam.training_class_id, trainee=trainee
        ).exists()
    ):
        return ExamError("NOT_IN_CLASS", _("您不在该培训班中"), status=403)
    if used is None:
        used = Attempt.objects.filter(exam=exam, trainee=trainee).count()
    if used >= exam.max_attempts:
        return ExamError(
            "NO_ATTEMPTS_LEFT",
            _("本考试最多可考 %(n)s 次，已用完") % {"n": exam.max_attempts},
            status=409,
        )
    if exam.requires_completion and not _study_complete(exam, trainee):
        return ExamError("STUDY_INCOMPLETE", _("请先完成规定的学习内容再参加考试"), status=409)
    return None


def _study_complete(exam: Exam, trainee: TraineeProfile) -> bool:
    from zhipei.study.models import LessonProgress
    from zhipei.study.selectors import class_xueshi

    if exam.training_class is not None:  # a class exam
        done = class_xueshi(exam.training_class).get(trainee.pk, 0.0)
        return done >= float(exam.training_class.required_xueshi)
    lessons = (
        Lesson.objects.filter(pk=exam.lesson_id or 0)
        if exam.scope == Exam.Scope.LESSON
        else Lesson.objects.filter(chapter__course_id=exam.course_id or 0)
    )
    wanted = set(lessons.values_list("pk", flat=True))
    done_ids = set(
        LessonProgress.objects.filter(
            trainee=trainee, lesson__in=wanted, completed_at__isnull=False
        ).values_list("lesson_id", flat=True)
    )
    return bool(wanted) and wanted <= done_ids


def exam_face_check(
    *,
    exam: Exam,
    trainee: TraineeProfile,
    frames: list[bytes],
    challenge: str | None = None,
    request: HttpRequest | None = None,
) -> FaceAttempt:
    """The face verification that opens the exam: a match may start one attempt within
    EXAM_START_FACE_SECONDS. Refused before any recognition if the trainee may not start."""
    refusal = exam_refusal(exam, trainee, timezone.now())
    if refusal is not None:
        raise refusal
    return face_verify(
        trainee=trainee,
        institution=exam.institution,
        frames=frames,
        purpose=Purpose.EXAM_START,
        challenge=challenge,
        context=f"exam:{exam.pk}",
        request=request,
    )


def _next_face_at(now: datetime) -> datetime:
    low = settings.EXAM_FACE_CHECK_MIN_MINUTES * 60
    high = max(low, settings.EXAM_FACE_CHECK_MAX_MINUTES * 60)
    return now + timedelta(seconds=_rng.uniform(low, high))


def attempt_start(
    *,
    exam: Exam,
    trainee: TraineeProfile,
    now: datetime | None = None,
    request: HttpRequest | None = None,
    facts: StartFacts | None = None,
) -> Attempt:
    """Resume the trainee's open attempt, or start a new one on a fresh, unused face match.

    ``facts``: what ``exam_for_start`` read with the exam at ``now`` (read here if not given).
    The attempt limit and the one-open-attempt rule hold under concurrent starts (unique
    constraints); the face match is spent by the attempt it opened (one-to-one)."""
    now = now or timezone.now()
    if facts is None:
        found = exam_for_start(trainee, exam.pk, now)
        if found is None:  # not an exam of the trainee's institutions
            raise ExamError("EXAM_NOT_FOUND", _("考试不存在"), status=404)
        facts = found[1]
    if facts.open_id is not None:
        with transaction.atomic():
            open_attempt = _locked(facts.open_id, trainee)
            closed = _settle(open_attempt, now)
        if closed is None:
            return open_attempt
        # It ended just now (time up, or void): a new attempt may follow if one is left.
    refusal = exam_refusal(exam, trainee, now, used=facts.used, in_class=facts.in_class)
    if refusal is not None:
        raise refusal
    if facts.face_id is None:
        raise ExamError("FACE_REQUIRED", _("请先完成人脸核验再开始考试"), status=409)
    items = pool_draw(exam_pool(exam))
    deadline = min(now + timedelta(minutes=exam.duration_minutes), exam.closes_at)
    attempt = Attempt(
        exam=exam,
        trainee=trainee,
        institution_id=exam.institution_id,
        number=facts.used + 1,
        started_at=now,
        deadline=deadline,
        paper=items,
        total_points=sum((Decimal(i["score"]) for i in items), Decimal(0)),
        start_face_id=facts.face_id,
        next_face_at=_next_face_at(now),
    )
    try:
        with transaction.atomic():
            attempt.save(force_insert=True)
            audit_log(
                action="exam.start",
                request=request,
                target=attempt,
                institution_id=exam.institution_id,
                detail={"exam": exam.pk, "number": attempt.number, "items": len(items)},
            )
    except IntegrityError:
        # A concurrent start won the race: theirs is the attempt (or the limit is reached).
        raise ExamError("ATTEMPT_CONFLICT", _("考试已在其他页面开始，请刷新"), status=409) from None
    return attempt


def _locked(attempt_id: int, trainee: TraineeProfile) -> Attempt:
    try:
        return (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("exam")
            .defer("exam__pool")  # large, and only a start needs it
            .get(pk=attempt_id, trainee=trainee)
        )
    except Attempt.DoesNotExist:
        raise ExamError("ATTEMPT_NOT_FOUND", _("考试记录不存在"), status=404) from None


def _settle(attempt: Attempt, now: datetime) -> ExamError | None:
    """Apply what time alone decides (time up; a face check left unanswered) to an open attempt,
    saving it; returns the refusal the caller must give, if any."""
    if attempt.status != Attempt.Status.IN_PROGRESS:
        return ExamError("ATTEMPT_CLOSED", _("本次考试已交卷"), status=409)
    if now > attempt.deadline + timedelta(seconds=settings.EXAM_GRACE_SECONDS):
        _submit(attempt, Attempt.EndReason.TIME_UP, attempt.deadline)
        return ExamError("TIME_UP", _("考试时间已到，已自动交卷"), status=409)
    due = attempt.next_face_at
    if due is not None and now > due + timedelta(seconds=settings.EXAM_FACE_RESPONSE_SECONDS):
        # An unanswered check counts as a failed one; the next is due at once.
        if _face_failed(attempt, now):
            return ExamError("FACE_FAILED", _("人脸抽查连续未通过，本次考试已结束且成绩无效"), 409)
        attempt.save(
            update_fields=["face_checks", "face_failures", "face_failures_in_row", "next_face_at"]
        )
    return None


def _face_failed(attempt: Attempt, now: datetime) -> bool:
    """Count a failed check; True when the attempt ended for it (then saved)."""
    attempt.face_checks += 1
    attempt.face_failures += 1
    attempt.face_failures_in_row += 1
    attempt.next_face_at = now
    if attempt.face_failures_in_row >= settings.EXAM_FACE_MAX_FAILURES:
        _submit(attempt, Attempt.EndReason.FACE_FAILED, now)
        return True
    return False


def face_due(attempt: Attempt, now: datetime) -> bool:
    return (
        attempt.status == Attempt.Status.IN_PROGRESS
        and attempt.next_face_at is not None
        and attempt.next_face_at <= now
        and attempt.next_face_at < attempt.deadline
    )


def _with_attempt(
    attempt_id: int,
    trainee: TraineeProfile,
    change: Callable[[Attempt, datetime], None],
    now: datetime | None = None,
) -> Attempt:
    """Lock the attempt, settle it, apply ``change`` to a still-open attempt. A refusal from
    settling is raised after its effects (an automatic submission) are committed."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = _locked(attempt_id, trainee)
        refusal = _settle(attempt, now)
        if refusal is None:
            change(attempt, now)
    if refusal is not None:
        raise refusal
    return attempt


def attempt_answer(
    *,
    attempt_id: int,
    trainee: TraineeProfile,
    question_id: Any,
    value: Any,
    now: datetime | None = None,
) -> Attempt:
    """Save one answer (``value``: shown option indexes, or one text per blank; ``None``
    clears it). A question not in the paper or a malformed answer changes nothing."""

    def save(attempt: Attempt, moment: datetime) -> None:
        item = next((i for i in attempt.paper if i["id"] == question_id), None)
        if item is None or isinstance(question_id, bool):
            raise ExamError("BAD_QUESTION", _("该题不在您的试卷中"))
        if value is not None and not valid_answer(item, value):
            raise ExamError("BAD_ANSWER", _("答案格式不正确（选项不存在或数量不符）"))
        if value is None:
            attempt.answers.pop(str(question_id), None)
        else:
            attempt.answers[str(question_id)] = value
        attempt.answers_saved_at = moment
        attempt.save(update_fields=["answers", "answers_saved_at"])

    return _with_attempt(attempt_id, trainee, save, now)


def attempt_page_leave(*, attempt_id: int, trainee: TraineeProfile) -> Attempt:
    """The trainee left the exam page or tab (counted, shown to admins)."""

    def count(attempt: Attempt, moment: datetime) -> None:
        attempt.page_leaves += 1
        attempt.save(update_fields=["page_leaves"])

    return _with_attempt(attempt_id, trainee, count)


def attempt_face_check(
    *,
    attempt_id: int,
    trainee: TraineeProfile,
    frames: list[bytes],
    challenge_for: Callable[[str], str | None] = lambda purpose: None,
    request: HttpRequest | None = None,
) -> tuple[Attempt, FaceAttempt]:
    """A re-check during the exam. Recognition runs outside the attempt's row lock."""
    attempt = _with_attempt(attempt_id, trainee, lambda a, m: None)
    face = face_verify(
        trainee=trainee,
        institution=attempt.exam.institution,
        frames=frames,
        purpose=Purpose.EXAM_RECHECK,
        challenge=challenge_for(Purpose.EXAM_RECHECK),
        context=f"attempt:{attempt.pk}",
        request=request,
    )

    def apply(attempt: Attempt, moment: datetime) -> None:
        if face.passed:
            attempt.face_checks += 1
            attempt.face_failures_in_row = 0
            attempt.next_face_at = _next_face_at(moment)
        elif _face_failed(attempt, moment):
            return
        attempt.save(
            update_fields=["face_checks", "face_failures", "face_failures_in_row", "next_face_at"]
        )

    return _with_attempt(attempt_id, trainee, apply), face


def _points(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), ROUND_HALF_UP)


def _submit(attempt: Attempt, reason: str, at: datetime, actor: User | None = None) -> None:
    """Grade and close (the caller holds the row lock). A void attempt is graded for the record
    but never passes."""
    marks = {str(i["id"]): grade_item(i, attempt.answers.get(str(i["id"]))) for i in attempt.paper}
    points = sum(marks.values(), Decimal(0))
    total = attempt.total_points or Decimal(1)
    attempt.status = Attempt.Status.SUBMITTED
    attempt.end_reason = reason
    attempt.submitted_at = at
    attempt.marks = {k: str(v) for k, v in marks.items()}
    attempt.points = _points(points)
    attempt.score = _points(points * 100 / total)
    attempt.passed = (
        reason != Attempt.EndReason.FACE_FAILED and attempt.score >= attempt.exam.pass_mark
    )
    attempt.save()
    audit_log(
        action="exam.submit",
        target=attempt,
        institution_id=attempt.institution_id,
        actor=actor,
        actor_label="system",
        detail={"reason": reason, "score": str(attempt.score), "passed": attempt.passed},
    )


def attempt_submit(
    *, attempt_id: int, trainee: TraineeProfile, now: datetime | None = None
) -> Attempt:
    """The trainee hands in. At the deadline (the page's own countdown, within the network
    grace) it is a time-up submission; past the grace it has already happened automatically
    and this says so."""

    def hand_in(attempt: Attempt, moment: datetime) -> None:
        if moment >= attempt.deadline:
            _submit(attempt, Attempt.EndReason.TIME_UP, attempt.deadline, actor=trainee.user)
        else:
            _submit(attempt, Attempt.EndReason.TRAINEE, moment, actor=trainee.user)

    return _with_attempt(attempt_id, trainee, hand_in, now)


def attempt_settle(*, attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Bring an attempt up to date before showing it (time up)."""
    if attempt.status == Attempt.Status.IN_PROGRESS:
        with transaction.atomic():
            attempt = _locked(attempt.pk, attempt.trainee)
            _settle(attempt, now or timezone.now())
    return attempt


def attempts_expire(now: datetime | None = None) -> int:
    """Submit every open attempt past its deadline (periodic; a page visit does it too)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EXAM_GRACE_SECONDS)
    done = 0
    for pk in Attempt.objects.filter(
        status=Attempt.Status.IN_PROGRESS, deadline__lt=cutoff
    ).values_list("pk", flat=True):
        with transaction.atomic():
            attempt = (
                Attempt.objects.select_for_update(of=("self",))
                .select_related("exam")
                .defer("exam__pool")
                .get(pk=pk)
            )
            if attempt.status == Attempt.Status.IN_PROGRESS:
                _submit(attempt, Attempt.EndReason.TIME_UP, attempt.deadline)
                done += 1
    return done
