"""Reads of one trainee's record at one institution: the console's timeline (a page at a time,
a fixed number of queries whatever its length) and the rows and summary of the 一人一档 dossier.

Only the institution's own records: study sessions whose institution it is, attempts at its
exams, its face checks. Another institution's records of the same person never appear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, Prefetch, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhipei.accounts.models import ConsentRecord, Membership, TraineeProfile
from zhipei.archive.labels import duration_text, reason_label
from zhipei.audit.models import AuditEntry
from zhipei.certificates.models import Certificate
from zhipei.courses.models import TrainingClass
from zhipei.exams.models import Attempt
from zhipei.faces.models import Decision, FaceAttempt, Purpose
from zhipei.institutions.models import Institution
from zhipei.study.models import QuizAnswer, StudySegment, StudySession, UncreditedInterval

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STUDY = "study"
EXAM = "exam"
TIMELINE_PER_PAGE = 10


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.astimezone(timezone.get_current_timezone()).strftime(fmt) if value else ""


# --- querysets -----------------------------------------------------------------------------------


def trainee_sessions(trainee: TraineeProfile, institution: Institution) -> QuerySet[StudySession]:
    return StudySession.objects.filter(trainee=trainee, institution=institution)


def trainee_attempts(trainee: TraineeProfile, institution: Institution) -> QuerySet[Attempt]:
    """Attempts at the institution's exams, without the paper and answers (large, not shown)."""
    return Attempt.objects.filter(trainee=trainee, exam__institution=institution).defer(
        "paper", "answers", "marks"
    )


def trainee_face_attempts(
    trainee: TraineeProfile, institution: Institution
) -> QuerySet[FaceAttempt]:
    return FaceAttempt.objects.filter(trainee=trainee, institution=institution)


def trainee_classes(trainee: TraineeProfile, institution: Institution) -> QuerySet[TrainingClass]:
    return TrainingClass.objects.filter(institution=institution, members__trainee=trainee).order_by(
        "start_date", "id"
    )


# --- the timeline --------------------------------------------------------------------------------


@dataclass
class Event:
    """One line under a session or attempt: a segment, an uncredited interval, a face check or
    a pop-up answer, in the order they happened."""

    at: datetime
    kind: str  # segment, uncredited, face, quiz
    label: str
    detail: str = ""
    end: datetime | None = None
    ok: bool | None = None  # None: neutral; True/False: shown as a pass or a failure
    face: FaceAttempt | None = None


@dataclass
class Entry:
    kind: str  # STUDY or EXAM
    at: datetime
    session: StudySession | None = None
    attempt: Attempt | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def credited_text(self) -> str:
        return duration_text(self.session.confirmed_seconds) if self.session else ""

    @property
    def uncredited_text(self) -> str:
        if self.session is None:
            return ""
        return duration_text(sum(e.seconds for e in self.session.uncredited.all()))


def _face_event(face: FaceAttempt) -> Event:
    return Event(
        at=face.at,
        kind="face",
        label=face.get_purpose_display(),
        detail=face.message,
        ok=face.passed,
        face=face,
    )


def _session_events(session: StudySession, faces: list[FaceAttempt]) -> list[Event]:
    events = [
        Event(
            at=s.started_at,
            end=s.ended_at,
            kind="segment",
            label=_("计入有效学时"),
            detail=_("%(duration)s（视频 %(start)s – %(end)s）")
            % {
                "duration": duration_text(s.seconds),
                "start": duration_text(s.from_position),
                "end": duration_text(s.to_position),
            },
            ok=True,
        )
        for s in session.segments.all()
    ]
    events += [
        Event(
            at=u.started_at,
            end=u.ended_at,
            kind="uncredited",
            label=reason_label(u.reason),
            detail=_("%(duration)s 未计时（%(code)s）")
            % {"duration": duration_text(u.seconds), "code": u.reason},
            ok=False,
        )
        for u in session.uncredited.all()
    ]
    for answer in session.quiz_answers.all():
        question = answer.question
        chosen = (
            question.options[answer.choice]
            if answer.choice is not None and 0 <= answer.choice < len(question.options)
            else ""
        )
        events.append(
            Event(
                at=answer.asked_at,
                end=answer.answered_at,
                kind="quiz",
                label=_("随堂问题：%(outcome)s") % {"outcome": answer.get_outcome_display()},
                detail=(
                    _("%(question)s（所选：%(choice)s）")
                    % {"question": question.text, "choice": chosen}
                    if chosen
                    else f"{question.text}"
                ),
                ok={"correct": True, "wrong": False, "timeout": False}.get(answer.outcome),
            )
        )
    events += [_face_event(f) for f in faces]
    events.sort(key=lambda e: e.at)
    return events


def timeline_keys(trainee: TraineeProfile, institution: Institution) -> QuerySet[Any]:
    """(started_at, pk, kind) of every study session and exam attempt, newest first: one list
    that the paginator counts and slices in the database."""
    sessions = (
        trainee_sessions(trainee, institution)
        .order_by()
        .annotate(kind=Value(STUDY, output_field=CharField()))
        .values_list("started_at", "pk", "kind")
    )
    attempts = (
        Attempt.objects.filter(trainee=trainee, exam__institution=institution)
        .order_by()
        .annotate(kind=Value(EXAM, output_field=CharField()))
        .values_list("started_at", "pk", "kind")
    )
    return sessions.union(attempts, all=True).order_by("-started_at", "-pk")


def timeline_page(
    trainee: TraineeProfile,
    institution: Institution,
    page_number: Any,
    *,
    per_page: int = TIMELINE_PER_PAGE,
) -> tuple[Page[Any], list[Entry]]:
    """One page of the trainee's timeline at the institution. The same number of queries for
    any page size: the keys, then sessions, their segments, intervals and answers, attempts,
    and the face checks of all of them."""
    page = Paginator(timeline_keys(trainee, institution), per_page).get_page(page_number)
    keys = list(page.object_list)
    session_ids = [pk for _, pk, kind in keys if kind == STUDY]
    attempt_ids = [pk for _, pk, kind in keys if kind == EXAM]
    sessions: dict[int, StudySession] = {}
    if session_ids:
        sessions = {
            s.pk: s
            for s in StudySession.objects.filter(pk__in=session_ids)
            .select_related("lesson__chapter__course", "training_class")
            .defer("ledger")
            .prefetch_related(
                "segments",
                "uncredited",
                Prefetch("quiz_answers", queryset=QuizAnswer.objects.select_related("question")),
            )
        }
    attempts: dict[int, Attempt] = {}
    if attempt_ids:
        attempts = {
            a.pk: a
            for a in Attempt.objects.filter(pk__in=attempt_ids)
            .select_related("exam", "start_face")
            .defer("paper", "answers", "marks", "exam__pool")
        }
    contexts = [f"study:{pk}" for pk in session_ids] + [f"attempt:{pk}" for pk in attempt_ids]
    faces: dict[str, list[FaceAttempt]] = defaultdict(list)
    if contexts:
        for face in trainee_face_attempts(trainee, institution).filter(context__in=contexts):
            faces[face.context].append(face)
    entries = []
    for at, pk, kind in keys:
        if kind == STUDY and pk in sessions:
            session = sessions[pk]
            entries.append(
                Entry(
                    kind=STUDY,
                    at=at,
                    session=session,
                    events=_session_events(session, faces[f"study:{pk}"]),
                )
            )
        elif kind == EXAM and pk in attempts:
            attempt = attempts[pk]
            checks = ([attempt.start_face] if attempt.start_face else []) + faces[f"attempt:{pk}"]
            entries.append(
                Entry(
                    kind=EXAM,
                    at=at,
                    attempt=attempt,
                    events=sorted((_face_event(f) for f in checks), key=lambda e: e.at),
                )
            )
    return page, entries


# --- the dossier: rows for the CSVs ---------------------------------------------------------------

# The CSV headers: lazy, in the language of whoever downloads the dossier.
SESSION_HEADER: list[StrOrPromise] = [
    gettext_lazy("会话ID"),
    gettext_lazy("课程"),
    gettext_lazy("章节"),
    gettext_lazy("课时"),
    gettext_lazy("培训班"),
    gettext_lazy("设备标识"),
    gettext_lazy("开始时间"),
    gettext_lazy("结束时间"),
    gettext_lazy("状态"),
    gettext_lazy("结束方式"),
    gettext_lazy("是否无效"),
    gettext_lazy("有效时长（秒）"),
    gettext_lazy("计入时长（秒，含待确认）"),
    gettext_lazy("人脸抽查连续失败次数"),
]
SEGMENT_HEADER: list[StrOrPromise] = [
    gettext_lazy("片段ID"),
    gettext_lazy("会话ID"),
    gettext_lazy("课程"),
    gettext_lazy("课时"),
    gettext_lazy("开始时间"),
    gettext_lazy("结束时间"),
    gettext_lazy("视频起点（秒）"),
    gettext_lazy("视频终点（秒）"),
    gettext_lazy("有效时长（秒）"),
]
UNCREDITED_HEADER: list[StrOrPromise] = [
    gettext_lazy("记录ID"),
    gettext_lazy("会话ID"),
    gettext_lazy("开始时间"),
    gettext_lazy("结束时间"),
    gettext_lazy("时长（秒）"),
    gettext_lazy("原因代码"),
    gettext_lazy("原因"),
]
FACE_HEADER: list[StrOrPromise] = [
    gettext_lazy("核验ID"),
    gettext_lazy("时间"),
    gettext_lazy("用途"),
    gettext_lazy("结果"),
    gettext_lazy("是否通过"),
    gettext_lazy("特征距离"),
    gettext_lazy("阈值"),
    gettext_lazy("说明"),
    gettext_lazy("活体动作"),
    gettext_lazy("帧数"),
    gettext_lazy("关联记录"),
    gettext_lazy("证据图像文件"),
]
QUIZ_HEADER: list[StrOrPromise] = [
    gettext_lazy("作答ID"),
    gettext_lazy("会话ID"),
    gettext_lazy("课时"),
    gettext_lazy("题目"),
    gettext_lazy("提问时间"),
    gettext_lazy("截止时间"),
    gettext_lazy("作答时间"),
    gettext_lazy("所选答案"),
    gettext_lazy("正确答案"),
    gettext_lazy("结果"),
]
ATTEMPT_HEADER: list[StrOrPromise] = [
    gettext_lazy("考试记录ID"),
    gettext_lazy("考试"),
    gettext_lazy("考试类型"),
    gettext_lazy("第几次"),
    gettext_lazy("状态"),
    gettext_lazy("开始时间"),
    gettext_lazy("截止时间"),
    gettext_lazy("交卷时间"),
    gettext_lazy("交卷方式"),
    gettext_lazy("得分"),
    gettext_lazy("总分"),
    gettext_lazy("成绩（百分制）"),
    gettext_lazy("是否及格"),
    gettext_lazy("考前人脸核验"),
    gettext_lazy("过程抽查次数"),
    gettext_lazy("抽查未通过次数"),
    gettext_lazy("离开页面次数"),
]
CONSENT_HEADER: list[StrOrPromise] = [
    gettext_lazy("记录ID"),
    gettext_lazy("同意书"),
    gettext_lazy("版本"),
    gettext_lazy("操作"),
    gettext_lazy("时间"),
    "IP",
]
CERTIFICATE_HEADER: list[StrOrPromise] = [
    gettext_lazy("证书编号"),
    gettext_lazy("证书类型"),
    gettext_lazy("培训班"),
    gettext_lazy("签发时间"),
    gettext_lazy("状态"),
    gettext_lazy("撤销时间"),
    gettext_lazy("撤销原因"),
]
AUDIT_HEADER: list[StrOrPromise] = [
    gettext_lazy("审计ID"),
    gettext_lazy("时间"),
    gettext_lazy("操作人"),
    gettext_lazy("角色"),
    gettext_lazy("操作"),
    gettext_lazy("对象类型"),
    gettext_lazy("对象ID"),
    gettext_lazy("结果"),
    gettext_lazy("详情"),
    gettext_lazy("哈希"),
]

_CHUNK = 500


def _number(value: Any) -> Any:
    return "" if value is None else round(float(value), 3)


# The big tables are read as plain tuples (no model instances): a dossier of years of study
# has tens of thousands of rows.
_STATUS = dict(StudySession.Status.choices)
_END = dict(StudySession.EndReason.choices)
_PURPOSES = dict(Purpose.choices)
_DECISIONS = dict(Decision.choices)
_OUTCOMES = dict(QuizAnswer.Outcome.choices)
_PASSED = (Decision.MATCH, Decision.ENROLLED)  # a verification matched, an enrolment taken


def session_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    sessions = (
        trainee_sessions(trainee, institution)
        .order_by("started_at", "id")
        .values_list(
            "pk",
            "lesson__chapter__course__title",
            "lesson__chapter__title",
            "lesson__title",
            "training_class__name",
            "device",
            "started_at",
            "ended_at",
            "status",
            "end_reason",
            "confirmed_seconds",
            "credited_seconds",
            "face_failures",
        )
    )
    yes, no = _("是"), _("否")
    for (pk, course, chapter, lesson, klass, device, started, ended, status, end, confirmed,
         credited, failures) in sessions.iterator(chunk_size=_CHUNK):  # fmt: skip
        yield [
            pk,
            course,
            chapter,
            lesson,
            klass or "",
            device,
            when(started),
            when(ended),
            str(_STATUS.get(status, status)),
            str(_END.get(end, end)),
            yes if end == StudySession.EndReason.FACE_FAILED else no,
            _number(confirmed),
            _number(credited),
            failures,
        ]


def segment_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    segments = (
        StudySegment.objects.filter(session__trainee=trainee, session__institution=institution)
        .order_by("started_at", "id")
        .values_list(
            "pk",
            "session_id",
            "session__lesson__chapter__course__title",
            "session__lesson__title",
            "started_at",
            "ended_at",
            "from_position",
            "to_position",
            "seconds",
        )
    )
    for pk, session, course, lesson, started, ended, start, to, seconds in segments.iterator(
        chunk_size=_CHUNK
    ):
        yield [
            pk,
            session,
            course,
            lesson,
            when(started),
            when(ended),
            _number(start),
            _number(to),
            _number(seconds),
        ]


def uncredited_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    intervals = (
        UncreditedInterval.objects.filter(
            session__trainee=trainee, session__institution=institution
        )
        .order_by("started_at", "id")
        .values_list("pk", "session_id", "started_at", "ended_at", "seconds", "reason")
    )
    for pk, session, started, ended, seconds, reason in intervals.iterator(chunk_size=_CHUNK):
        yield [
            pk,
            session,
            when(started),
            when(ended),
            _number(seconds),
            reason,
            reason_label(reason),
        ]


def face_rows(
    trainee: TraineeProfile, institution: Institution, evidence_names: dict[int, str]
) -> Iterator[list[Any]]:
    """``evidence_names``: the file name inside the zip of each attempt's image; an attempt
    whose evidence could not be read gets “（证据文件缺失）”."""
    faces = (
        trainee_face_attempts(trainee, institution)
        .order_by("at", "id")
        .values_list(
            "pk",
            "at",
            "purpose",
            "decision",
            "distance",
            "threshold",
            "message",
            "challenge",
            "frame_count",
            "context",
            "evidence",
        )
    )
    yes, no, missing = _("是"), _("否"), _("（证据文件缺失）")
    for (pk, at, purpose, decision, distance, threshold, message, challenge, frames, context,
         evidence) in faces.iterator(chunk_size=_CHUNK):  # fmt: skip
        yield [
            pk,
            when(at),
            str(_PURPOSES.get(purpose, purpose)),
            str(_DECISIONS.get(decision, decision)),
            yes if decision in _PASSED else no,
            _number(distance),
            _number(threshold),
            message,
            challenge,
            frames,
            context,
            evidence_names.get(pk, missing) if evidence else "",
        ]


def _option(options: Any, index: int | None) -> str:
    if index is None or not isinstance(options, list) or not 0 <= index < len(options):
        return ""
    return str(options[index])


def quiz_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    answers = (
        QuizAnswer.objects.filter(session__trainee=trainee, session__institution=institution)
        .order_by("asked_at", "id")
        .values_list(
            "pk",
            "session_id",
            "question__lesson__title",
            "question__text",
            "question__options",
            "question__answer",
            "asked_at",
            "deadline",
            "answered_at",
            "choice",
            "outcome",
        )
    )
    for (pk, session, lesson, text, options, answer, asked, deadline, answered, choice,
         outcome) in answers.iterator(chunk_size=_CHUNK):  # fmt: skip
        yield [
            pk,
            session,
            lesson,
            text,
            when(asked),
            when(deadline),
            when(answered),
            _option(options, choice),
            _option(options, answer),
            str(_OUTCOMES.get(outcome, outcome)),
        ]


def attempt_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    attempts = (
        trainee_attempts(trainee, institution)
        .select_related("exam", "start_face")
        .defer("exam__pool")
        .order_by("started_at", "id")
    )
    invalid, yes, no = _("无效"), _("是"), _("否")
    for a in attempts.iterator(chunk_size=_CHUNK):
        submitted = a.status == Attempt.Status.SUBMITTED
        yield [
            a.pk,
            a.exam.title,
            a.exam.get_scope_display(),
            a.number,
            a.get_status_display(),
            when(a.started_at),
            when(a.deadline),
            when(a.submitted_at),
            a.get_end_reason_display() if a.end_reason else "",
            _number(a.points),
            _number(a.total_points),
            _number(a.score),
            (invalid if a.invalid else yes if a.passed else no) if submitted else "",
            a.start_face.get_decision_display() if a.start_face else "",
            a.face_checks,
            a.face_failures,
            a.page_leaves,
        ]


def consent_rows(trainee: TraineeProfile) -> Iterator[list[Any]]:
    records = (
        ConsentRecord.objects.filter(user_id=trainee.user_id)
        .select_related("document")
        .order_by("at", "id")
    )
    for r in records.iterator(chunk_size=_CHUNK):
        yield [
            r.pk,
            r.document.title,
            r.document.version,
            r.get_action_display(),
            when(r.at),
            r.ip or "",
        ]


def certificate_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    for c in trainee_certificates(trainee, institution):
        yield [
            c.serial,
            c.get_kind_display(),
            c.training_class.name,
            when(c.issued_at),
            _("已撤销") if c.revoked else _("有效"),
            when(c.revoked_at),
            c.revoke_reason,
        ]


def trainee_audit_entries(
    trainee: TraineeProfile, institution: Institution
) -> QuerySet[AuditEntry]:
    """Entries of this institution that are about the trainee (their profile as the target) or
    done by the trainee. The institution's index narrows the scan; nothing of other tenants."""
    return AuditEntry.objects.filter(institution_id=institution.pk).filter(
        Q(target_type=TraineeProfile._meta.label, target_id=str(trainee.pk))
        | Q(actor_id=trainee.user_id)
    )


def audit_rows(trainee: TraineeProfile, institution: Institution) -> Iterator[list[Any]]:
    import json

    entries = trainee_audit_entries(trainee, institution).order_by("id")
    for e in entries.iterator(chunk_size=_CHUNK):
        yield [
            e.pk,
            when(e.at),
            e.actor_label,
            e.actor_role,
            e.action,
            e.target_type,
            e.target_id,
            e.get_result_display(),
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "",
            e.hash,
        ]


def trainee_certificates(
    trainee: TraineeProfile, institution: Institution
) -> QuerySet[Certificate]:
    return (
        Certificate.objects.filter(trainee=trainee, institution=institution)
        .select_related("training_class")
        .order_by("issued_at", "id")
    )


# --- the dossier: the summary for the PDF ---------------------------------------------------------


def xueshi_text(seconds: float) -> str:
    from zhipei.study.selectors import xueshi

    return f"{xueshi(seconds):.2f}"


def dossier_summary(trainee: TraineeProfile, institution: Institution) -> dict[str, Any]:
    """What the dossier's PDF states, each figure computed in the database (a few grouped
    queries, one per class for its 学时 under the class's own rule)."""
    from zhipei.study.selectors import class_xueshi

    membership = (
        Membership.objects.filter(trainee=trainee, institution=institution)
        .order_by("joined_at")
        .first()
    )
    classes = []
    for training_class in trainee_classes(trainee, institution):
        done = class_xueshi(training_class).get(trainee.pk, 0.0)
        required = float(training_class.required_xueshi)
        classes.append(
            {
                "name": training_class.name,
                "dates": _("%(start)s 至 %(end)s")
                % {"start": training_class.start_date, "end": training_class.end_date},
                "required": f"{required:g}",
                "done": f"{done:.2f}",
                "met": done >= required,
            }
        )
    courses = [
        {
            "title": row["session__lesson__chapter__course__title"],
            "theory_hours": row["session__lesson__chapter__course__theory_hours"],
            "xueshi": xueshi_text(row["seconds"] or 0.0),
            "seconds": row["seconds"] or 0.0,
        }
        for row in StudySegment.objects.filter(
            session__trainee=trainee, session__institution=institution
        )
        .values(
            "session__lesson__chapter__course_id",
            "session__lesson__chapter__course__title",
            "session__lesson__chapter__course__theory_hours",
        )
        .annotate(seconds=Sum("seconds"))
        .order_by("session__lesson__chapter__course__title")
    ]
    session_stats = trainee_sessions(trainee, institution).aggregate(
        count=Count("id"),
        invalid=Count("id", filter=Q(end_reason=StudySession.EndReason.FACE_FAILED)),
    )
    exams = [
        {
            "title": a.exam.title,
            "number": a.number,
            "submitted": when(a.submitted_at, "%Y-%m-%d %H:%M"),
            "score": "" if a.score is None else f"{a.score}",
            "result": (
                (_("无效") if a.invalid else _("合格") if a.passed else _("不合格"))
                if a.status == Attempt.Status.SUBMITTED
                else _("作答中")
            ),
        }
        for a in trainee_attempts(trainee, institution)
        .select_related("exam")
        .defer("exam__pool")
        .order_by("started_at", "id")
    ]
    purposes = dict(Purpose.choices)
    faces: list[dict[str, Any]] = []
    for row in (
        trainee_face_attempts(trainee, institution)
        .values("purpose")
        .annotate(
            matched=Count("id", filter=Q(decision__in=_PASSED)),
            unmatched=Count("id", filter=~Q(decision__in=_PASSED)),
        )
        .order_by("purpose")
    ):
        faces.append(
            {
                "purpose": str(purposes.get(row["purpose"], row["purpose"])),
                "passed": row["matched"],
                "failed": row["unmatched"],
            }
        )
    uncredited = [
        {
            "reason": reason_label(row["reason"]),
            "code": row["reason"],
            "count": row["count"],
            "time": duration_text(row["seconds"]),
            "seconds": row["seconds"] or 0.0,
        }
        for row in UncreditedInterval.objects.filter(
            session__trainee=trainee, session__institution=institution
        )
        .values("reason")
        .annotate(seconds=Sum("seconds"), count=Count("id"))
        .order_by("-seconds")
    ]
    quiz = dict(
        QuizAnswer.objects.filter(session__trainee=trainee, session__institution=institution)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    outcome_labels = dict(QuizAnswer.Outcome.choices)
    return {
        "name": trainee.user.name,
        "id_number_masked": trainee.id_number_masked,
        "phone_masked": trainee.user.phone_masked,
        "registered": when(trainee.created_at, "%Y-%m-%d"),
        "institution": institution.name,
        "membership": (
            _("%(source)s，%(date)s")
            % {
                "source": membership.get_source_display(),
                "date": when(membership.joined_at, "%Y-%m-%d"),
            }
            if membership
            else "—"
        ),
        "classes": classes,
        "courses": courses,
        "total_xueshi": xueshi_text(sum(float(c["seconds"] or 0) for c in courses)),
        "sessions": session_stats["count"],
        "invalid_sessions": session_stats["invalid"],
        "exams": exams,
        "certificates": [
            {
                "serial": c.serial,
                "kind": c.get_kind_display(),
                "class": c.training_class.name,
                "issued": when(c.issued_at, "%Y-%m-%d"),
                "state": _("已撤销") if c.revoked else _("有效"),
            }
            for c in trainee_certificates(trainee, institution)
        ],
        "faces": faces,
        "faces_passed": sum(f["passed"] for f in faces),
        "faces_failed": sum(f["failed"] for f in faces),
        "uncredited": uncredited,
        "uncredited_total": duration_text(sum(u["seconds"] for u in uncredited)),
        "quiz": {str(outcome_labels.get(k, k)): v for k, v in quiz.items()},
    }
