"""Assessment: an institution's question bank, papers (fixed or drawn by rules), exams after a
lesson, a course or a class, and each trainee's attempts with their frozen paper and answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Question(models.Model):
    """One bank question. ``answer`` holds option indexes (single, multiple, judge) or, for a
    fill-in question, one list of accepted answers per blank. A question already drawn into an
    attempt is never graded from here again: the attempt keeps its own copy."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("单选题")
        MULTIPLE = "multiple", _("多选题")
        JUDGE = "judge", _("判断题")
        FILL = "fill", _("填空题")

    class Difficulty(models.IntegerChoices):
        EASY = 1, _("易")
        MEDIUM = 2, _("中")
        HARD = 3, _("难")

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="questions"
    )
    course = models.ForeignKey(
        "courses.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    chapter = models.ForeignKey(
        "courses.Chapter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("题型"), max_length=10, choices=Kind.choices)
    difficulty = models.PositiveSmallIntegerField(
        _("难度"), choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    stem = models.TextField(_("题干"))
    options = models.JSONField(_("选项"), default=list, blank=True)
    answer = models.JSONField(_("答案"))
    analysis = models.TextField(_("解析"), blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("试题")
        verbose_name_plural = _("试题")
        ordering = ["-id"]
        indexes = [models.Index(fields=["institution", "active", "kind"])]

    def __str__(self) -> str:
        return self.stem[:30]


# A true/false question's options, stored with the question (and written in the bank sheet's
# 答案 column, which an import reads back): content, like the options of any other question.
JUDGE_OPTIONS = ["正确", "错误"]  # i18n: data


class Paper(models.Model):
    """A paper: a fixed list of questions, or rules to draw each trainee's own."""

    class Mode(models.TextChoices):
        FIXED = "fixed", _("固定试卷")
        RANDOM = "random", _("随机抽题")

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="papers"
    )
    title = models.CharField(_("试卷名称"), max_length=100)
    mode = models.CharField(_("组卷方式"), max_length=10, choices=Mode.choices)
    # RANDOM: [{"kind", "count", "score", "course"?, "chapter"?, "difficulty"?}, ...]
    rules = models.JSONField(_("抽题规则"), default=list, blank=True)
    shuffle_questions = models.BooleanField(_("题目乱序"), default=True)
    shuffle_options = models.BooleanField(_("选项乱序"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("试卷")
        verbose_name_plural = _("试卷")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class PaperQuestion(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="items")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    score = models.DecimalField(_("分值"), max_digits=5, decimal_places=1)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "question"], name="unique_paper_question")
        ]

    def __str__(self) -> str:
        return f"{self.paper_id}#{self.position}"


def default_pass_mark() -> Decimal:
    return Decimal(settings.EXAM_PASS_MARK)


class Exam(models.Model):
    """An exam after a lesson, a course or a whole class, open for a window of time."""

    class Scope(models.TextChoices):
        LESSON = "lesson", _("课时考试")
        COURSE = "course", _("课程考试")
        CLASS = "class", _("结业考试")

    class ShowAnswers(models.TextChoices):
        NEVER = "never", _("不公布答案")
        AFTER_SUBMIT = "after_submit", _("交卷后公布")
        AFTER_CLOSE = "after_close", _("考试结束后公布")

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="exams"
    )
    title = models.CharField(_("考试名称"), max_length=100)
    paper = models.ForeignKey(Paper, on_delete=models.PROTECT, related_name="exams")
    scope = models.CharField(_("考试类型"), max_length=10, choices=Scope.choices)
    lesson = models.ForeignKey(
        "courses.Lesson", null=True, blank=True, on_delete=models.PROTECT, related_name="exams"
    )
    course = models.ForeignKey(
        "courses.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="exams"
    )
    training_class = models.ForeignKey(
        "courses.TrainingClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exams",
        verbose_name=_("培训班"),
    )
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    duration_minutes = models.PositiveIntegerField(_("考试时长（分钟）"))
    max_attempts = models.PositiveSmallIntegerField(_("可考次数"), default=1)
    pass_mark = models.DecimalField(
        _("及格分（百分制）"), max_digits=5, decimal_places=1, default=default_pass_mark
    )
    show_answers = models.CharField(
        _("答案公布"), max_length=20, choices=ShowAnswers.choices, default=ShowAnswers.AFTER_CLOSE
    )
    # The lesson, course or class must be completed (valid study time) before the exam.
    requires_completion = models.BooleanField(_("须先完成学习"), default=True)
    # The questions every attempt is drawn from, frozen when the exam is created: all trainees
    # draw from the same pool, later bank edits do not reach a published exam, and starting an
    # attempt needs no bank query (services.exam_pool).
    pool = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考试")
        verbose_name_plural = _("考试")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="exam_window"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="lesson", lesson__isnull=False)
                    | models.Q(scope="course", course__isnull=False)
                    | models.Q(scope="class", training_class__isnull=False)
                ),
                name="exam_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return self.opens_at <= moment < self.closes_at


class Attempt(models.Model):
    """One trainee's sitting of an exam: the paper drawn for them (frozen, with the answers
    hidden from them), their answers as saved, the server's deadline, face checks, page leaves."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("作答中")
        SUBMITTED = "submitted", _("已交卷")

    class EndReason(models.TextChoices):
        TRAINEE = "trainee", _("考生交卷")
        TIME_UP = "time_up", _("时间到自动交卷")
        FACE_FAILED = "face_failed", _("人脸抽查连续未通过（成绩无效）")

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="exam_attempts"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    number = models.PositiveSmallIntegerField(_("第几次"))
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS
    )
    end_reason = models.CharField(
        _("交卷方式"), max_length=20, choices=EndReason.choices, blank=True
    )
    started_at = models.DateTimeField(_("开始时间"))
    deadline = models.DateTimeField(_("截止时间"))
    submitted_at = models.DateTimeField(_("交卷时间"), null=True, blank=True)
    # [{"id", "kind", "stem", "options" (as shown), "perm" (shown index -> bank index),
    #   "answer" (bank indexes / accepted fills), "score", "blanks"}] in the order shown.
    paper = models.JSONField(default=list)
    answers = models.JSONField(default=dict)  # {"<question id>": [shown indexes] | [fills]}
    answers_saved_at = models.DateTimeField(null=True, blank=True)
    total_points = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    points = models.DecimalField(_("得分"), max_digits=6, decimal_places=1, null=True, blank=True)
    score = models.DecimalField(_("成绩（百分制）"), max_digits=5, decimal_places=1, null=True)
    passed = models.BooleanField(_("是否及格"), null=True)
    # {"<question id>": points earned}: kept so a result page needs no regrading.
    marks = models.JSONField(default=dict, blank=True)
    page_leaves = models.PositiveIntegerField(_("离开页面次数"), default=0)
    start_face = models.OneToOneField(
        "faces.FaceAttempt",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_start",
    )
    face_checks = models.PositiveSmallIntegerField(_("抽查次数"), default=0)
    face_failures = models.PositiveSmallIntegerField(_("抽查未通过次数"), default=0)
    face_failures_in_row = models.PositiveSmallIntegerField(default=0)
    next_face_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("考试记录")
        verbose_name_plural = _("考试记录")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "trainee", "number"], name="unique_attempt_number"
            ),
            models.UniqueConstraint(
                fields=["exam", "trainee"],
                condition=models.Q(status="in_progress"),
                name="one_open_attempt",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["trainee", "exam"]),
        ]

    def __str__(self) -> str:
        return f"{self.exam_id}/{self.trainee_id}#{self.number}"

    @property
    def invalid(self) -> bool:
        return self.end_reason == self.EndReason.FACE_FAILED

    @property
    def duration_seconds(self) -> int:
        end = self.submitted_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))
