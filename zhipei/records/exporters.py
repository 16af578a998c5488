"""Learning-record exports: a small registry of exporter classes (after pretix's). Each has an
``identifier``, a ``verbose_name``, a ``header`` and a ``rows()`` generator over an
:class:`ExportScope` (the institution, optionally a class, a course and a date range); the
rows go to a streamed response (zhipei.core.exports) or, for a large export, to a job's file
(``write_csv`` / ``write_xlsx``).

Constant memory: rows come from server-side cursors (``iterator(chunk_size=...)``) as plain
tuples. The detail export, the large one, does its per-row work in SQL (local time, rounding,
the reason's Chinese label), so Python only hands the database's tuples to the writer.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from typing import IO, TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import NotSupportedError, models
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Round
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhipei.accounts.models import TraineeProfile
from zhipei.core.exports import FORMULA_START, csv_lines
from zhipei.courses.models import ClassMember, Course, TrainingClass
from zhipei.exams.models import Attempt, Exam
from zhipei.exams.selectors import RESULT_HEADER, exam_attempts, result_row
from zhipei.faces.models import Decision, FaceAttempt, Purpose
from zhipei.study import ledger
from zhipei.study.models import LessonProgress, StudySegment, StudySession, UncreditedInterval
from zhipei.study.selectors import xueshi

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CHUNK_ROWS = 2000  # rows per fetch from the server-side cursor
PROGRESS_EVERY = 5000  # rows between two progress updates of a job (one UPDATE each)

STUDY_FACE_PURPOSES = (Purpose.STUDY_START, Purpose.STUDY_RECHECK)


class ExportError(Exception):
    """An export that cannot be made; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- the scope -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportScope:
    """What to export. The class and course are already known to be the institution's (the
    view fetched them scoped, the job fetches them again the same way)."""

    institution_id: int
    training_class: TrainingClass | None = None
    course: Course | None = None
    date_from: date | None = None
    date_to: date | None = None

    def params(self) -> dict[str, Any]:
        """The scope as JSON (ids and ISO dates: no personal data), for a job and the audit log."""
        return {
            "class": self.training_class.pk if self.training_class else None,
            "course": self.course.pk if self.course else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }

    def chosen_window(self) -> tuple[datetime | None, datetime | None]:
        """The chosen dates as local day bounds: [from 00:00, the day after to 00:00)."""
        return _day_start(self.date_from), _day_start(self.date_to, after=True)

    def study_window(self) -> tuple[datetime | None, datetime | None]:
        """The chosen dates within the class's dates: time on a class's course counts for the
        class only between its start and end (as zhipei.study.selectors.class_xueshi)."""
        start, end = self.chosen_window()
        cls = self.training_class
        if cls is not None:
            class_start = _midnight(cls.start_date)
            class_end = _midnight(cls.end_date + timedelta(days=1))
            start = max(start, class_start) if start else class_start
            end = min(end, class_end) if end else class_end
        return start, end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _day_start(day: date | None, *, after: bool = False) -> datetime | None:
    if day is None:
        return None
    return _midnight(day + timedelta(days=1) if after else day)


def study_filter(scope: ExportScope, *, via: str, at: str) -> Q:
    """Rows of the scope's study, for a model reaching the session through ``via`` ("session__"
    from a segment, "" from a session) and timed by its field ``at``."""
    q = Q(**{f"{via}institution_id": scope.institution_id})
    if scope.training_class is not None:
        q &= Q(**{f"{via}lesson__chapter__course__classes": scope.training_class})
        q &= Q(**{f"{via}trainee__class_memberships__training_class": scope.training_class})
    if scope.course is not None:
        q &= Q(**{f"{via}lesson__chapter__course": scope.course})
    return q & _in_window(at, scope.study_window())


def _in_window(field: str, window: tuple[datetime | None, datetime | None]) -> Q:
    """``field`` within [start, end); an open side does not filter."""
    start, end = window
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": start})
    if end is not None:
        q &= Q(**{f"{field}__lt": end})
    return q


# --- SQL helpers ---------------------------------------------------------------------------------


def _parse_sqlite_local(value: Any, expression: Any, connection: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class LocalDateTimeField(models.DateTimeField):
    """A naive local wall-clock time computed by the database (see :class:`LocalDateTime`)."""

    def get_internal_type(self) -> str:
        # Not "DateTimeField": the backends' converters would make it an aware UTC time again.
        return "LocalDateTimeField"

    def get_db_converters(self, connection: Any) -> list[Callable[..., Any]]:
        # PostgreSQL hands back a naive datetime already: no per-row converter on the hot path.
        return [_parse_sqlite_local] if connection.vendor == "sqlite" else []


class LocalDateTime(Func):
    """A timestamp as local time (settings.TIME_ZONE) to the second, computed in SQL: a naive
    datetime that csv writes as "YYYY-MM-DD HH:MM:SS" and Excel stores as a date, with no
    per-row Python."""

    output_field = LocalDateTimeField()

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date_trunc('second', ({sql}) AT TIME ZONE %s)", (*params, settings.TIME_ZONE)

    def as_sqlite(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        # SQLite knows no time zones: the zone's offset now (Asia/Shanghai has no summer time).
        sql, params = compiler.compile(self.source_expressions[0])
        offset = timezone.localtime().utcoffset() or timedelta(0)
        return f"datetime({sql}, %s)", (*params, f"{int(offset.total_seconds()):+d} seconds")

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        raise NotSupportedError("LocalDateTime supports PostgreSQL and SQLite")


class FetchedNumberField(models.FloatField):
    """A number as the database driver returns it (Decimal from PostgreSQL's ROUND, float from
    SQLite's). A FloatField output would add a per-row float() converter to every row."""

    def get_internal_type(self) -> str:
        return "FetchedNumberField"


def _local(value: datetime | None) -> datetime | None:
    """The same for a single value in Python (summary rows, few of them)."""
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _label_case(field: str, labels: Iterable[tuple[str, StrOrPromise]], default: Any) -> Case:
    """The label of each code, in the active language (a lazy label becomes text here: a query
    parameter must be a str)."""
    return Case(
        *[When(**{field: code}, then=Value(str(label))) for code, label in labels],
        default=default,
        output_field=CharField(),
    )


# --- the registry --------------------------------------------------------------------------------


class Exporter:
    """One kind of export. Subclasses set the class attributes and implement count() and rows()."""

    # Templates list the exporter classes: they must read these attributes, not call the class.
    do_not_call_in_templates: ClassVar[bool] = True
    identifier: ClassVar[str]
    verbose_name: ClassVar[StrOrPromise]
    description: ClassVar[StrOrPromise] = ""
    columns: ClassVar[Sequence[StrOrPromise]]  # the header's labels (lazy)
    # True when rows() already neutralises text a spreadsheet would run as a formula (in SQL):
    # the writers then hand the rows to csv.writer as they are, without a Python step per row.
    rows_are_inert: ClassVar[bool] = False

    def __init__(self, scope: ExportScope) -> None:
        self.scope = scope

    @property
    def header(self) -> list[str]:
        """The header row in the active language, as text (csv and openpyxl want str)."""
        return [str(label) for label in self.columns]

    def count(self) -> int:
        """The rows the export will have (one COUNT query; decides inline or background)."""
        raise NotImplementedError

    def rows(self) -> Iterator[Sequence[Any]]:
        raise NotImplementedError

    @classmethod
    def filename(cls, fmt: str, day: date | None = None) -> str:
        return f"{cls.verbose_name}-{day or timezone.localdate():%Y%m%d}.{fmt}"


EXPORTERS: dict[str, type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    EXPORTERS[cls.identifier] = cls
    return cls


# --- 学习记录明细 ---------------------------------------------------------------------------------

DETAIL_HEADER: list[StrOrPromise] = [
    gettext_lazy("会话编号"),
    gettext_lazy("姓名"),
    gettext_lazy("身份证号（脱敏）"),
    gettext_lazy("课程"),
    gettext_lazy("课时"),
    gettext_lazy("开始时间"),
    gettext_lazy("结束时间"),
    gettext_lazy("时长（秒）"),
    gettext_lazy("是否计入有效学时"),
    gettext_lazy("原因代码"),
    gettext_lazy("未计入原因"),
    gettext_lazy("会话结束方式"),
]
_DETAIL_COLUMNS = [f"c{i}" for i in range(len(DETAIL_HEADER))]


def _session_outcome() -> Case:
    """How the segment's session ended, or that it is still running."""
    ended = [(code, label) for code, label in StudySession.EndReason.choices]
    running = [
        (StudySession.Status.ACTIVE, StudySession.Status.ACTIVE.label),
        (StudySession.Status.AWAITING_FACE, StudySession.Status.AWAITING_FACE.label),
    ]
    return Case(
        *[When(session__end_reason=code, then=Value(str(label))) for code, label in ended],
        *[When(session__status=code, then=Value(str(label))) for code, label in running],
        default=Value(""),
        output_field=CharField(),
    )


def _inert_text(field: str) -> Case:
    """The text of ``field``, with a leading ' when it starts like a formula (as
    ``core.exports`` does in Python), computed by the database for every row."""
    looks_like_formula = Q()
    for start in sorted(FORMULA_START):
        looks_like_formula |= Q(**{f"{field}__startswith": start})
    return Case(
        When(looks_like_formula, then=Concat(Value("'"), F(field), output_field=CharField())),
        default=F(field),
        output_field=CharField(),
    )


@register
class DetailExporter(Exporter):
    identifier = "detail"
    verbose_name = gettext_lazy("学习记录明细")
    description = gettext_lazy("每个有效学习片段和每段未计时时间一行（含原因），按会话和时间排序。")
    columns = DETAIL_HEADER
    rows_are_inert = True  # the free texts (name, course, lesson) are made inert in SQL

    def _part(self, model: type[models.Model], *, credited: bool) -> QuerySet[Any]:
        columns: dict[str, Any] = {
            "c0": F("session_id"),
            "c1": _inert_text("session__trainee__user__name"),
            "c2": F("session__trainee__id_number_masked"),
            "c3": _inert_text("session__lesson__chapter__course__title"),
            "c4": _inert_text("session__lesson__title"),
            "c5": LocalDateTime("started_at"),
            "c6": LocalDateTime("ended_at"),
            "c7": Round("seconds", 1, output_field=FetchedNumberField()),
            "c8": Value(_("是") if credited else _("否")),
            "c9": Value("") if credited else F("reason"),
            "c10": Value("")
            if credited
            else _label_case("reason", ledger.REASON_LABELS.items(), F("reason")),
            "c11": _session_outcome(),
        }
        return (
            model._default_manager.filter(
                study_filter(self.scope, via="session__", at="started_at")
            )
            .order_by()
            .annotate(**columns)
            .values_list(*_DETAIL_COLUMNS)
        )

    def queryset(self) -> QuerySet[Any]:
        """Both kinds of ledger rows in one ordered query (UNION ALL), so the export is one
        server-side cursor."""
        segments = self._part(StudySegment, credited=True)
        gaps = self._part(UncreditedInterval, credited=False)
        return segments.union(gaps, all=True).order_by("c0", "c5", "c8")

    def count(self) -> int:
        where = study_filter(self.scope, via="session__", at="started_at")
        return (
            StudySegment.objects.filter(where).count()
            + UncreditedInterval.objects.filter(where).count()
        )

    def rows(self) -> Iterator[Sequence[Any]]:
        return self.queryset().iterator(chunk_size=CHUNK_ROWS)


# --- 学习记录汇总 ---------------------------------------------------------------------------------

SUMMARY_HEADER: list[StrOrPromise] = [
    gettext_lazy("姓名"),
    gettext_lazy("身份证号（脱敏）"),
    gettext_lazy("培训班"),
    gettext_lazy("课程"),
    gettext_lazy("有效学时（线上）"),
    gettext_lazy("折算课堂学时（1:1）"),
    gettext_lazy("要求学时"),
    gettext_lazy("学时达标"),
    gettext_lazy("完成课时数"),
    gettext_lazy("学习次数"),
    gettext_lazy("首次学习时间"),
    gettext_lazy("最后学习时间"),
    gettext_lazy("未计时合计（分钟）"),
    gettext_lazy("未计时原因（分钟）"),
    gettext_lazy("学习人脸核验通过次数"),
    gettext_lazy("学习人脸核验未通过次数"),
    gettext_lazy("最好成绩"),
    gettext_lazy("是否及格"),
]


@register
class SummaryExporter(Exporter):
    identifier = "summary"
    verbose_name = gettext_lazy("学习记录汇总")
    description = gettext_lazy(
        "每名学员一行：有效学时及折算课堂学时、完成课时、学习次数、未计时原因、"
        "人脸核验和最好考试成绩。选择培训班时为该班全体学员。"
    )
    columns = SUMMARY_HEADER

    # One grouped query per measure; the per-trainee results stay in dicts (a few numbers per
    # trainee: memory grows with the trainees, not with their records).

    def _sessions(self) -> QuerySet[StudySession]:
        return StudySession.objects.filter(study_filter(self.scope, via="", at="started_at"))

    def trainee_ids(self) -> QuerySet[Any]:
        scope = self.scope
        if scope.training_class is not None:
            return ClassMember.objects.filter(training_class=scope.training_class).values(
                "trainee_id"
            )
        return self._sessions().values("trainee_id").distinct()

    def count(self) -> int:
        return TraineeProfile.objects.filter(pk__in=self.trainee_ids()).count()

    def _trainees(self) -> Iterator[tuple[int, str, str]]:
        """A class's members in the order they were enrolled, else by name."""
        if self.scope.training_class is not None:
            return (
                ClassMember.objects.filter(training_class=self.scope.training_class)
                .order_by("enrolled_at", "pk")
                .values_list("trainee_id", "trainee__user__name", "trainee__id_number_masked")
                .iterator(chunk_size=CHUNK_ROWS)
            )
        return (
            TraineeProfile.objects.filter(pk__in=self.trainee_ids())
            .order_by("user__name", "pk")
            .values_list("pk", "user__name", "id_number_masked")
            .iterator(chunk_size=CHUNK_ROWS)
        )

    def _class_names(self) -> dict[int, str]:
        scope = self.scope
        if scope.training_class is not None:
            return {}
        names: dict[int, list[str]] = {}
        for trainee_id, name in (
            ClassMember.objects.filter(
                training_class__institution_id=scope.institution_id,
                trainee_id__in=self.trainee_ids(),
            )
            .order_by("training_class__start_date", "training_class_id")
            .values_list("trainee_id", "training_class__name")
        ):
            names.setdefault(trainee_id, []).append(name)
        return {k: _("、").join(v) for k, v in names.items()}

    def _courses(self) -> dict[int, str]:
        titles: dict[int, list[str]] = {}
        for trainee_id, title in (
            self._sessions()
            .order_by("trainee_id", "lesson__chapter__course_id")
            .values_list("trainee_id", "lesson__chapter__course__title")
            .distinct()
        ):
            titles.setdefault(trainee_id, []).append(title)
        return {k: _("、").join(v) for k, v in titles.items()}

    def _credited(self) -> dict[int, float]:
        return dict(
            StudySegment.objects.filter(study_filter(self.scope, via="session__", at="started_at"))
            .order_by()
            .values("session__trainee_id")
            .annotate(total=Sum("seconds"))
            .values_list("session__trainee_id", "total")
        )

    def _session_stats(self) -> dict[int, tuple[int, datetime, datetime]]:
        rows = (
            self._sessions()
            .order_by()
            .values("trainee_id")
            .annotate(
                n=Count("id"),
                first=Min("started_at"),
                last=Max(Coalesce("ended_at", "last_beat_at", "started_at")),
            )
            .values_list("trainee_id", "n", "first", "last")
        )
        return {t: (n, first, last) for t, n, first, last in rows}

    def _uncredited(self) -> dict[int, dict[str, float]]:
        by: dict[int, dict[str, float]] = {}
        for trainee_id, reason, seconds in (
            UncreditedInterval.objects.filter(
                study_filter(self.scope, via="session__", at="started_at")
            )
            .order_by()
            .values("session__trainee_id", "reason")
            .annotate(total=Sum("seconds"))
            .values_list("session__trainee_id", "reason", "total")
        ):
            by.setdefault(trainee_id, {})[reason] = seconds or 0.0
        return by

    def _completed_lessons(self) -> dict[int, int]:
        scope = self.scope
        done = LessonProgress.objects.filter(
            completed_at__isnull=False,
            lesson__chapter__course__institution_id=scope.institution_id,
        )
        if scope.training_class is not None:
            done = done.filter(lesson__chapter__course__classes=scope.training_class)
        if scope.course is not None:
            done = done.filter(lesson__chapter__course=scope.course)
        start, end = scope.study_window()
        if start is not None:
            done = done.filter(completed_at__gte=start)
        if end is not None:
            done = done.filter(completed_at__lt=end)
        return dict(
            done.order_by()
            .values("trainee_id")
            .annotate(n=Count("id"))
            .values_list("trainee_id", "n")
        )

    def _face_checks(self) -> dict[int, tuple[int, int]]:
        scope = self.scope
        checks = FaceAttempt.objects.filter(
            institution_id=scope.institution_id,
            purpose__in=STUDY_FACE_PURPOSES,
            trainee_id__in=self.trainee_ids(),
        )
        start, end = scope.study_window()
        if start is not None:
            checks = checks.filter(at__gte=start)
        if end is not None:
            checks = checks.filter(at__lt=end)
        rows = (
            checks.order_by()
            .values("trainee_id")
            .annotate(
                n_match=Count("id", filter=Q(decision=Decision.MATCH)),
                n_other=Count("id", filter=~Q(decision=Decision.MATCH)),
            )
            .values_list("trainee_id", "n_match", "n_other")
        )
        return {t: (p, f) for t, p, f in rows}

    def exam_attempts(self) -> QuerySet[Attempt]:
        """The valid, graded attempts that count: the class's final exams for a class (as a
        certificate quotes them), else the institution's exams (of the course, if chosen)."""
        scope = self.scope
        attempts = Attempt.objects.filter(
            institution_id=scope.institution_id,
            status=Attempt.Status.SUBMITTED,
            score__isnull=False,
        ).exclude(end_reason=Attempt.EndReason.FACE_FAILED)
        if scope.training_class is not None:
            attempts = attempts.filter(
                exam__scope=Exam.Scope.CLASS, exam__training_class=scope.training_class
            )
        elif scope.course is not None:
            attempts = attempts.filter(
                Q(exam__course=scope.course) | Q(exam__lesson__chapter__course=scope.course)
            )
        return attempts.filter(_in_window("started_at", scope.chosen_window()))

    def _best_scores(self) -> dict[int, tuple[float, bool]]:
        best: dict[int, tuple[float, bool]] = {}
        for trainee_id, score, passed in (
            self.exam_attempts()
            .order_by("trainee_id", "-score", "submitted_at")
            .values_list("trainee_id", "score", "passed")
        ):
            if trainee_id not in best:
                best[trainee_id] = (float(score or 0), bool(passed))
        return best

    def required_xueshi(self) -> float | None:
        if self.scope.training_class is not None:
            return float(self.scope.training_class.required_xueshi)
        if self.scope.course is not None:
            return float(self.scope.course.theory_hours)
        return None

    def rows(self) -> Iterator[Sequence[Any]]:
        scope = self.scope
        class_name = scope.training_class.name if scope.training_class else None
        class_names = self._class_names()
        courses = self._courses()
        credited = self._credited()
        sessions = self._session_stats()
        uncredited = self._uncredited()
        completed = self._completed_lessons()
        faces = self._face_checks()
        best = self._best_scores()
        required = self.required_xueshi()
        yes, no = _("是"), _("否")
        for trainee_id, name, id_masked in self._trainees():
            hours = round(xueshi(credited.get(trainee_id, 0.0)), 2)
            n_sessions, first, last = sessions.get(trainee_id, (0, None, None))
            lost = uncredited.get(trainee_id, {})
            passed, failed = faces.get(trainee_id, (0, 0))
            score = best.get(trainee_id)
            yield [
                name,
                id_masked,
                class_name if class_name is not None else class_names.get(trainee_id, ""),
                courses.get(trainee_id, ""),
                hours,
                hours,
                required if required is not None else "",
                (yes if hours >= required else no) if required is not None else "",
                completed.get(trainee_id, 0),
                n_sessions,
                _local(first),
                _local(last),
                round(sum(lost.values()) / 60, 1),
                uncredited_text(lost),
                passed,
                failed,
                score[0] if score else "",
                (yes if score[1] else no) if score else "",
            ]


def uncredited_text(seconds_by_reason: dict[str, float]) -> str:
    """ "页面隐藏或未在前台 12.5；暂停播放 3.0" (minutes), in the order of ledger.REASON_LABELS."""
    order = {code: i for i, code in enumerate(ledger.REASON_LABELS)}
    parts = sorted(seconds_by_reason.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return _("；").join(
        f"{ledger.REASON_LABELS.get(code, code)} {seconds / 60:.1f}"
        for code, seconds in parts
        if seconds
    )


# --- 考试成绩 -------------------------------------------------------------------------------------


@register
class ScoresExporter(Exporter):
    identifier = "scores"
    verbose_name = gettext_lazy("考试成绩")
    description = gettext_lazy(
        "每次考试一行（与考试成绩页相同的列）。选择培训班时为该班学员在本班结业考试及其课程考试中的成绩。"
    )
    columns = RESULT_HEADER

    def queryset(self) -> QuerySet[Attempt]:
        scope = self.scope
        attempts = exam_attempts(scope.institution_id)
        exams = Exam.objects.filter(institution_id=scope.institution_id)
        if scope.training_class is not None:
            courses = scope.training_class.courses.values("pk")
            exams = exams.filter(
                Q(training_class=scope.training_class)
                | Q(course__in=courses)
                | Q(lesson__chapter__course__in=courses)
            )
            attempts = attempts.filter(
                trainee_id__in=ClassMember.objects.filter(
                    training_class=scope.training_class
                ).values("trainee_id")
            )
        if scope.course is not None:
            exams = exams.filter(Q(course=scope.course) | Q(lesson__chapter__course=scope.course))
        if scope.training_class is not None or scope.course is not None:
            attempts = attempts.filter(exam_id__in=exams.values("pk"))
        return attempts.filter(_in_window("started_at", scope.chosen_window()))

    def count(self) -> int:
        return self.queryset().count()

    def rows(self) -> Iterator[Sequence[Any]]:
        return (result_row(a) for a in self.queryset().iterator(chunk_size=CHUNK_ROWS))


# --- writing a job's file ------------------------------------------------------------------------


class Progress:
    """Iterates ``rows`` and reports the count every ``every`` rows. Rows are taken in lists
    and handed on by itertools.chain: no Python frame per row."""

    def __init__(
        self,
        rows: Iterable[Sequence[Any]],
        report: Callable[[int], None] | None = None,
        every: int | None = None,
    ) -> None:
        self.rows = iter(rows)
        self.report = report
        self.every = every or PROGRESS_EVERY
        self.done = 0

    def _chunks(self) -> Iterator[list[Sequence[Any]]]:
        while chunk := list(islice(self.rows, self.every)):
            yield chunk
            self.done += len(chunk)
            if self.report is not None:
                self.report(self.done)

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return chain.from_iterable(self._chunks())


def write_csv(
    out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]], *, inert: bool = False
) -> None:
    """UTF-8 with a BOM (Excel), the same lines as the streamed response (core.exports).
    ``inert``: the rows need no formula neutralising (``Exporter.rows_are_inert``), so
    csv.writer takes them all at once."""
    if not inert:
        out.writelines(csv_lines(header, rows))
        return
    out.writelines(csv_lines(header, ()))  # the BOM and the header, as csv_lines writes them
    csv.writer(out).writerows(rows)
