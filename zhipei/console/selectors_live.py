"""Reads for the console's live monitor: an institution's study sessions in progress, with what a
supervisor needs at a glance (latest face check, warnings), in a constant number of queries
however many people are studying: one for the sessions (the latest face check and the last
answered question come as correlated subqueries on indexed columns), one for the class names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from zhipei.courses.models import ClassMember, TrainingClass
from zhipei.faces.models import Decision, FaceAttempt
from zhipei.institutions.models import Institution
from zhipei.study import ledger
from zhipei.study.models import QuizAnswer, StudySession
from zhipei.study.policy import Policy, policy_for

# Why the latest heartbeat earned nothing, when that is worth a supervisor's attention. Face
# checks and questions have their own warnings; re-watching or buffering is not misconduct.
NOT_CREDITED = {
    ledger.PAUSED: gettext_lazy("暂停播放"),
    ledger.HIDDEN: gettext_lazy("页面不在前台"),
    ledger.RATE: gettext_lazy("倍速播放"),
    ledger.SEEK: gettext_lazy("拖动进度"),
    ledger.DAILY_CAP: gettext_lazy("已达每日学时上限"),
}
# An uncredited interval whose end is this close to the last heartbeat is the current state.
_CURRENT_SLACK_SECONDS = 1.5
DECISION_LABELS = dict(Decision.choices)
LIVE_STATUSES = [s for s in StudySession.Status if s != StudySession.Status.ENDED]


@dataclass(frozen=True)
class LiveWarning:
    code: str  # stable, for the API
    text: str  # Chinese, for people
    level: str  # "warn" or "danger"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text, "level": self.level}


def live_sessions(
    institution: Institution, training_class: TrainingClass | None = None
) -> QuerySet[StudySession]:
    """The institution's sessions that have not ended, optionally only those of one class: the
    session was started for the class, or the trainee is in the class and the lesson belongs to
    one of its courses."""
    # An explicit list, not "not ended": the (institution, status) index then finds the few live
    # sessions among years of ended ones.
    qs = StudySession.objects.filter(institution=institution, status__in=LIVE_STATUSES)
    if training_class is None:
        return qs
    member = ClassMember.objects.filter(
        training_class_id=training_class.pk, trainee_id=OuterRef("trainee_id")
    )
    course = TrainingClass.courses.through.objects.filter(
        trainingclass_id=training_class.pk, course_id=OuterRef("lesson__chapter__course_id")
    )
    return qs.filter(Q(training_class_id=training_class.pk) | (Exists(member) & Exists(course)))


def _latest_face() -> QuerySet[FaceAttempt]:
    # A session's checks are the trainee's attempts since it started whose context names it: the
    # (trainee, -at) index narrows them to a handful before the context is compared.
    return FaceAttempt.objects.filter(
        trainee_id=OuterRef("trainee_id"),
        at__gte=OuterRef("started_at"),
        context=Concat(Value("study:"), Cast(OuterRef("pk"), output_field=CharField())),
    ).order_by("-at", "-id")


FIELDS = (
    "id",
    "status",
    "started_at",
    "credited_seconds",
    "face_passed_at",
    "face_due_at",
    "face_failures",
    "last_beat_at",
    "last_activity_at",
    "trainee_id",
    "training_class__name",
    "lesson__chapter__course_id",
)


def _session_rows(qs: QuerySet[StudySession]) -> list[dict[str, Any]]:
    face = _latest_face()
    last_answer = (
        QuizAnswer.objects.filter(session_id=OuterRef("pk"))
        .exclude(outcome=QuizAnswer.Outcome.PENDING)
        .order_by("-asked_at", "-id")
    )
    # values(): no model instances, and neither the encrypted ID number nor the ledger is read.
    return list(
        qs.annotate(
            trainee_name=F("trainee__user__name"),
            id_masked=F("trainee__id_number_masked"),
            course_title=F("lesson__chapter__course__title"),
            lesson_title=F("lesson__title"),
            quiz_outcome=F("quiz__outcome"),
            quiz_deadline=F("quiz__deadline"),
            interval_reason=F("open_interval__reason"),
            interval_end=F("open_interval__ended_at"),
            face_id=Subquery(face.values("pk")[:1]),
            face_decision=Subquery(face.values("decision")[:1]),
            face_at=Subquery(face.values("at")[:1]),
            face_evidence=Subquery(face.values("evidence")[:1]),
            last_answer=Subquery(last_answer.values("outcome")[:1]),
        )
        .order_by("-started_at", "-id")
        .values(
            *FIELDS,
            "trainee_name",
            "id_masked",
            "course_title",
            "lesson_title",
            "quiz_outcome",
            "quiz_deadline",
            "interval_reason",
            "interval_end",
            "face_id",
            "face_decision",
            "face_at",
            "face_evidence",
            "last_answer",
        )
    )


def _class_names(
    institution: Institution, qs: QuerySet[StudySession]
) -> dict[tuple[int, int], list[str]]:
    """(trainee id, course id) → names of the institution's classes that hold both, in one query."""
    pairs = (
        ClassMember.objects.filter(
            training_class__institution=institution,
            trainee_id__in=qs.values("trainee_id"),
        )
        .annotate(course=F("training_class__courses"))
        .filter(course__in=qs.values("lesson__chapter__course_id"))
        .order_by("training_class__name", "training_class_id")
        .values_list("trainee_id", "course", "training_class__name")
    )
    names: dict[tuple[int, int], list[str]] = {}
    for trainee_id, course_id, name in pairs:
        names.setdefault((trainee_id, course_id), []).append(name)
    return names


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back subquery datetimes as naive UTC (or even strings) where columns are aware.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _warnings(row: dict[str, Any], now: datetime, policy: Policy) -> list[LiveWarning]:
    found: list[LiveWarning] = []
    failures = row["face_failures"]
    if failures:
        text = ngettext("人脸核验连续失败 %(n)s 次", "人脸核验连续失败 %(n)s 次", failures) % {
            "n": failures
        }
        found.append(LiveWarning("FACE_FAILED", text, "danger"))
    due = row["face_due_at"]
    if due is not None:
        if now > due:
            found.append(LiveWarning("FACE_OVERDUE", _("人脸抽查已超时未完成"), "danger"))
        else:
            found.append(LiveWarning("FACE_DUE", _("人脸抽查待完成"), "warn"))
    elif (
        row["status"] == StudySession.Status.AWAITING_FACE
        and row["face_passed_at"] is None
        and (now - row["started_at"]).total_seconds() > policy.face_response_seconds
    ):
        found.append(LiveWarning("FACE_START_SLOW", _("长时间未通过开始核验"), "warn"))
    if row["quiz_outcome"] == QuizAnswer.Outcome.PENDING:
        if row["quiz_deadline"] is not None and now > row["quiz_deadline"]:
            found.append(LiveWarning("QUIZ_OVERDUE", _("随堂问题超时未答"), "danger"))
        else:
            found.append(LiveWarning("QUIZ_PENDING", _("随堂问题待回答"), "warn"))
    if row["last_answer"] == QuizAnswer.Outcome.WRONG:
        found.append(LiveWarning("QUIZ_WRONG", _("上一道随堂问题答错"), "warn"))
    elif row["last_answer"] == QuizAnswer.Outcome.TIMEOUT:
        found.append(LiveWarning("QUIZ_TIMEOUT", _("上一道随堂问题未在时限内回答"), "warn"))
    last_beat = row["last_beat_at"] or row["started_at"]
    silent = (now - last_beat).total_seconds()
    if silent > policy.max_gap:
        text = ngettext("%(n)s 秒无心跳", "%(n)s 秒无心跳", int(silent)) % {"n": int(silent)}
        found.append(LiveWarning("NO_HEARTBEAT", text, "danger"))
    reason, end = row["interval_reason"], row["interval_end"]
    if (
        reason in NOT_CREDITED
        and end is not None
        and row["last_beat_at"] is not None
        and (row["last_beat_at"] - end).total_seconds() <= _CURRENT_SLACK_SECONDS
    ):
        text = _("未计时：%(reason)s") % {"reason": NOT_CREDITED[reason]}
        found.append(LiveWarning("NOT_CREDITED", text, "warn"))
    if (now - row["last_activity_at"]).total_seconds() > policy.idle_seconds:
        found.append(LiveWarning("IDLE", _("长时间无操作"), "warn"))
    return found


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return ngettext("%(n)s 秒前", "%(n)s 秒前", seconds) % {"n": seconds}
    if seconds < 3600:
        return ngettext("%(n)s 分钟前", "%(n)s 分钟前", seconds // 60) % {"n": seconds // 60}
    return _("%(hours)s 小时 %(minutes)s 分钟前") % {
        "hours": seconds // 3600,
        "minutes": seconds % 3600 // 60,
    }


def _when(moment: datetime, today: date, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local:%m-%d %H:%M}"


_PK = 2_147_483_647  # reverse() once with a placeholder: reversing 2,000 URLs costs 100 ms


def _url_pattern(name: str) -> str:
    return reverse(name, args=[_PK]).replace(str(_PK), "{}")


def live_monitor(
    *, institution: Institution, training_class: TrainingClass | None = None
) -> dict[str, Any]:
    """Rows and counts for the live monitor. Rows hold masked identity only (no phone, no full ID
    number) and the URL of the evidence frame, which the audited evidence view serves."""
    now = timezone.now()
    tz = timezone.get_current_timezone()
    today = now.astimezone(tz).date()
    evidence_url = _url_pattern("console:face_evidence")
    trainee_url = _url_pattern("console:trainee_detail")
    policy = policy_for(institution.pk)
    raw = _session_rows(live_sessions(institution, training_class))
    # Class names for every live session of the institution: a cheaper subquery than the filter.
    classes = _class_names(institution, live_sessions(institution)) if raw else {}
    rows = []
    awaiting = warned = 0
    for row in raw:
        for key in ("face_at", "quiz_deadline", "interval_end"):
            row[key] = _aware(row[key])
        warnings = _warnings(row, now, policy)
        names = classes.get((row["trainee_id"], row["lesson__chapter__course_id"]), [])
        if row["training_class__name"] and row["training_class__name"] not in names:
            names = [row["training_class__name"], *names]
        face = None
        if row["face_id"] is not None:
            face = {
                "id": row["face_id"],
                "decision": row["face_decision"],
                "label": DECISION_LABELS.get(row["face_decision"], row["face_decision"]),
                "ok": row["face_decision"] == Decision.MATCH,
                "at": _when(row["face_at"], today, tz) if row["face_at"] else "",
                "image": evidence_url.format(row["face_id"]) if row["face_evidence"] else None,
            }
        checking = (
            row["status"] == StudySession.Status.AWAITING_FACE or row["face_due_at"] is not None
        )
        awaiting += checking
        warned += bool(warnings)
        rows.append(
            {
                "id": row["id"],
                "trainee": row["trainee_name"],
                "trainee_url": trainee_url.format(row["trainee_id"]),
                "id_masked": row["id_masked"],
                "classes": _("、").join(names) if names else "—",
                "course": row["course_title"],
                "lesson": row["lesson_title"],
                "status": row["status"],
                "status_label": StudySession.Status(row["status"]).label,
                "started_label": _when(row["started_at"], today, tz),
                "age_label": _ago((now - row["started_at"]).total_seconds()),
                "credited_minutes": round(row["credited_seconds"] / 60, 1),
                "face": face,
                "warnings": [w.as_dict() for w in warnings],
            }
        )
    return {
        "now": now.isoformat(),
        "counts": {"live": len(rows), "awaiting_face": awaiting, "warnings": warned},
        "rows": rows,
    }
