"""Exam reads: what a trainee may sit, results, and the class result certificates quote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhipei.accounts.models import Membership, TraineeProfile
from zhipei.courses.models import ClassMember, TrainingClass
from zhipei.exams.models import Attempt, Exam
from zhipei.faces.models import Decision, FaceAttempt, Purpose


@dataclass(frozen=True)
class ExamResult:
    exam_id: int
    exam_title: str
    attempt_id: int
    score: Decimal
    passed: bool
    submitted_at: object


def _best(attempts: QuerySet[Attempt]) -> ExamResult | None:
    """The best valid submitted attempt (a voided attempt never counts)."""
    attempt = (
        attempts.filter(status=Attempt.Status.SUBMITTED, score__isnull=False)
        .exclude(end_reason=Attempt.EndReason.FACE_FAILED)
        .select_related("exam")
        .defer("paper", "answers", "marks", "exam__pool")
        .order_by("-score", "submitted_at")
        .first()
    )
    if attempt is None or attempt.score is None:
        return None
    return ExamResult(
        exam_id=attempt.exam_id,
        exam_title=attempt.exam.title,
        attempt_id=attempt.pk,
        score=attempt.score,
        passed=bool(attempt.passed),
        submitted_at=attempt.submitted_at,
    )


def class_exam_result(trainee: TraineeProfile, training_class: TrainingClass) -> ExamResult | None:
    """The trainee's best valid result in the class's final exam(s), or None if never sat."""
    return _best(
        Attempt.objects.filter(
            trainee=trainee, exam__scope=Exam.Scope.CLASS, exam__training_class=training_class
        )
    )


def exam_result(trainee: TraineeProfile, exam: Exam) -> ExamResult | None:
    return _best(Attempt.objects.filter(trainee=trainee, exam=exam))


def exam_for_trainee(profile: TraineeProfile, exam_id: int) -> Exam | None:
    """One exam, if it concerns the trainee (as in ``exams_for_trainee``). Two plain queries
    rather than that one: its joins cost PostgreSQL more to plan (≈15 ms) than to run, and
    every exam start goes through here."""
    exam = (
        Exam.objects.defer("pool")
        .filter(pk=exam_id, institution__memberships__trainee=profile)
        .first()
    )
    if exam is None or exam.training_class_id is None:
        return exam
    in_class = ClassMember.objects.filter(
        training_class_id=exam.training_class_id, trainee=profile
    ).exists()
    return exam if in_class else None


@dataclass(frozen=True)
class StartFacts:
    """What deciding an exam start needs to know about the trainee, read in one query."""

    in_class: bool  # not a class exam, or the trainee is in the class
    used: int  # attempts so far
    open_id: int | None  # the attempt in progress, if any
    face_id: int | None  # the newest exam-start face match still fresh and not yet spent


@cache
def _start_sql() -> str:
    """One statement for everything an exam start reads: the exam (without its pool), whether
    the trainee belongs to its institution (no row if not) and class, their attempts, and the
    face match that may open the next one. Every start of an exam storm runs it, so it is
    written out: the ORM's form took four queries and more CPU to build than to run."""
    columns = ", ".join(
        f'e."{field.column}"' for field in Exam._meta.concrete_fields if field.name != "pool"
    )
    attempts, faces = Attempt._meta.db_table, FaceAttempt._meta.db_table
    return (
        f"SELECT {columns},"  # noqa: S608 - table and column names from the models
        " (e.training_class_id IS NULL OR EXISTS (SELECT 1 FROM"
        f" {ClassMember._meta.db_table} c WHERE c.training_class_id = e.training_class_id"
        " AND c.trainee_id = %(trainee)s)) AS start_in_class,"
        f" (SELECT count(*) FROM {attempts} a WHERE a.exam_id = e.id"
        " AND a.trainee_id = %(trainee)s) AS start_used,"
        f" (SELECT max(a.id) FROM {attempts} a WHERE a.exam_id = e.id"
        " AND a.trainee_id = %(trainee)s AND a.status = %(open)s) AS start_open_id,"
        f" (SELECT f.id FROM {faces} f WHERE f.trainee_id = %(trainee)s"
        " AND f.purpose = %(purpose)s AND f.context = %(context)s AND f.decision = %(match)s"
        " AND f.at >= %(since)s"
        f" AND NOT EXISTS (SELECT 1 FROM {attempts} x WHERE x.start_face_id = f.id)"
        " ORDER BY f.at DESC, f.id DESC LIMIT 1) AS start_face_id"
        f" FROM {Exam._meta.db_table} e WHERE e.id = %(exam)s AND EXISTS (SELECT 1 FROM"
        f" {Membership._meta.db_table} m WHERE m.institution_id = e.institution_id"
        " AND m.trainee_id = %(trainee)s)"
    )


def exam_for_start(
    profile: TraineeProfile, exam_id: int, now: datetime
) -> tuple[Exam, StartFacts] | None:
    """The exam, if it belongs to one of the trainee's institutions, with the facts its start
    decides on (``facts.in_class``: whether a class exam concerns them, as ``exam_for_trainee``
    decides); ``now`` dates the face match's freshness."""
    since = now - timedelta(seconds=settings.EXAM_START_FACE_SECONDS)
    params = {
        "exam": exam_id,
        "trainee": profile.pk,
        "open": Attempt.Status.IN_PROGRESS.value,
        "purpose": Purpose.EXAM_START.value,
        "context": f"exam:{exam_id}",
        "match": Decision.MATCH.value,
        "since": connection.ops.adapt_datetimefield_value(since),
    }
    exam = next(iter(Exam.objects.raw(_start_sql(), params)), None)
    if exam is None:
        return None
    facts = StartFacts(
        in_class=bool(exam.start_in_class),  # type: ignore[attr-defined]
        used=exam.start_used,  # type: ignore[attr-defined]
        open_id=exam.start_open_id,  # type: ignore[attr-defined]
        face_id=exam.start_face_id,  # type: ignore[attr-defined]
    )
    return exam, facts


def exams_for_trainee(profile: TraineeProfile) -> QuerySet[Exam]:
    """Exams of the trainee's institutions that concern them: a course or lesson exam of one of
    those institutions, or the final exam of a class they are in."""
    return (
        Exam.objects.filter(institution__memberships__trainee=profile)
        .filter(~Q(scope=Exam.Scope.CLASS) | Q(training_class__members__trainee=profile))
        .select_related("paper", "lesson", "course", "training_class")
        .defer("pool")
        .distinct()
    )


# --- results for the console ---------------------------------------------------------------------

RESULT_HEADER = [
    gettext_lazy("姓名"),
    gettext_lazy("身份证号（脱敏）"),
    gettext_lazy("考试"),
    gettext_lazy("考试类型"),
    gettext_lazy("第几次"),
    gettext_lazy("开始时间"),
    gettext_lazy("交卷时间"),
    gettext_lazy("用时（分钟）"),
    gettext_lazy("得分"),
    gettext_lazy("总分"),
    gettext_lazy("成绩（百分制）"),
    gettext_lazy("是否及格"),
    gettext_lazy("交卷方式"),
    gettext_lazy("考前人脸核验"),
    gettext_lazy("过程抽查次数"),
    gettext_lazy("抽查未通过次数"),
    gettext_lazy("离开页面次数"),
]


def exam_attempts(institution_id: int) -> QuerySet[Attempt]:
    """An institution's attempts, with what a results table or export shows (no paper, no
    answers: those are large and not needed)."""
    return (
        Attempt.objects.filter(institution_id=institution_id)
        .select_related("trainee__user", "exam", "start_face")
        .defer("paper", "answers", "marks", "exam__pool")
        .order_by("exam_id", "trainee_id", "number")
    )


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def result_row(attempt: Attempt) -> list[Any]:
    submitted = attempt.status == Attempt.Status.SUBMITTED
    return [
        attempt.trainee.user.name,
        attempt.trainee.id_number_masked,
        attempt.exam.title,
        attempt.exam.get_scope_display(),
        attempt.number,
        _when(attempt.started_at),
        _when(attempt.submitted_at),
        round(attempt.duration_seconds / 60, 1) if submitted else "",
        float(attempt.points) if attempt.points is not None else "",
        float(attempt.total_points),
        float(attempt.score) if attempt.score is not None else "",
        (_("无效") if attempt.invalid else _("是") if attempt.passed else _("否"))
        if submitted
        else _("作答中"),
        attempt.get_end_reason_display() if submitted else "",
        attempt.start_face.get_decision_display() if attempt.start_face else "",
        attempt.face_checks,
        attempt.face_failures,
        attempt.page_leaves,
    ]


CLASS_HEADER = [
    gettext_lazy("姓名"),
    gettext_lazy("身份证号（脱敏）"),
    gettext_lazy("有效学时"),
    gettext_lazy("要求学时"),
    gettext_lazy("学时达标"),
    gettext_lazy("最好成绩"),
    gettext_lazy("是否及格"),
    gettext_lazy("考试次数"),
    gettext_lazy("离开页面次数（合计）"),
    gettext_lazy("抽查未通过（合计）"),
]


def class_summary(training_class: TrainingClass) -> list[list[Any]]:
    """Per member of the class: valid 学时 against the requirement, and the class exams'
    best valid score, attempts, page leaves and failed face checks (three queries)."""
    from zhipei.study.selectors import class_xueshi

    hours = class_xueshi(training_class)
    attempts: dict[int, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(
        exam__training_class=training_class, exam__scope=Exam.Scope.CLASS
    ).defer("paper", "answers", "marks"):
        attempts.setdefault(attempt.trainee_id, []).append(attempt)
    rows = []
    required = float(training_class.required_xueshi)
    for member in training_class.members.select_related("trainee__user").order_by("enrolled_at"):
        mine = attempts.get(member.trainee_id, [])
        valid = [a for a in mine if a.score is not None and not a.invalid]
        best = max(valid, key=lambda a: a.score or 0, default=None)
        done = round(hours.get(member.trainee_id, 0.0), 2)
        rows.append(
            [
                member.trainee.user.name,
                member.trainee.id_number_masked,
                done,
                required,
                _("是") if done >= required else _("否"),
                float(best.score) if best and best.score is not None else "",
                (_("是") if best.passed else _("否")) if best else "",
                len(mine),
                sum(a.page_leaves for a in mine),
                sum(a.face_failures for a in mine),
            ]
        )
    return rows
