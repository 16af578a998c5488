"""Assessment: an institution's question bank, papers (fixed or drawn by rules), exams after a
lesson, a course or a class, and each trainee's attempts with their frozen paper and answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class Question(models.Model):
    """One bank question. ``answer`` holds option indexes (single, multiple, judge) or, for a
    fill-in question, one list of accepted answers per blank. A question already drawn into an
    attempt is never graded from here again: the attempt keeps its own copy."""

    class Kind(models.TextChoices):
        SINGLE = "single", "单选题"
        MULTIPLE = "multiple", "多选题"
        JUDGE = "judge", "判断题"
        FILL = "fill", "填空题"

    class Difficulty(models.IntegerChoices):
        EASY = 1, "易"
        MEDIUM = 2, "中"
        HARD = 3, "难"

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="questions"
    )
    course = models.ForeignKey(
        "courses.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    chapter = models.ForeignKey(
        "courses.Chapter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("题型", max_length=10, choices=Kind.choices)
    difficulty = models.PositiveSmallIntegerField(
        "难度", choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    stem = models.TextField("题干")
    options = models.JSONField("选项", default=list, blank=True)
    answer = models.JSONField("答案")
    analysis = models.TextField("解析", blank=True)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "试题"
        verbose_name_plural = "试题"
        ordering = ["-id"]
        indexes = [models.Index(fields=["institution", "active", "kind"])]

    def __str__(self) -> str:
        return self.stem[:30]


JUDGE_OPTIONS = ["正确", "错误"]


class Paper(models.Model):
    """A paper: a fixed list of questions, or rules to draw each trainee's own."""

    class Mode(models.TextChoices):
        FIXED = "fixed", "固定试卷"
        RANDOM = "random", "随机抽题"

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="papers"
    )
    title = models.CharField("试卷名称", max_length=100)
    mode = models.CharField("组卷方式", max_length=10, choices=Mode.choices)
    # RANDOM: [{"kind", "count", "score", "course"?, "chapter"?, "difficulty"?}, ...]
    rules = models.JSONField("抽题规则", default=list, blank=True)
    shuffle_questions = models.BooleanField("题目乱序", default=True)
    shuffle_options = models.BooleanField("选项乱序", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "试卷"
        verbose_name_plural = "试卷"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class PaperQuestion(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="items")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    score = models.DecimalField("分值", max_digits=5, decimal_places=1)

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
        LESSON = "lesson", "课时考试"
        COURSE = "course", "课程考试"
        CLASS = "class", "结业考试"

    class ShowAnswers(models.TextChoices):
        NEVER = "never", "不公布答案"
        AFTER_SUBMIT = "after_submit", "交卷后公布"
        AFTER_CLOSE = "after_close", "考试结束后公布"

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="exams"
    )
    title = models.CharField("考试名称", max_length=100)
    paper = models.ForeignKey(Paper, on_delete=models.PROTECT, related_name="exams")
    scope = models.CharField("考试类型", max_length=10, choices=Scope.choices)
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
        verbose_name="培训班",
    )
    opens_at = models.DateTimeField("开始时间")
    closes_at = models.DateTimeField("截止时间")
    duration_minutes = models.PositiveIntegerField("考试时长（分钟）")
    max_attempts = models.PositiveSmallIntegerField("可考次数", default=1)
    pass_mark = models.DecimalField(
        "及格分（百分制）", max_digits=5, decimal_places=1, default=default_pass_mark
    )
    show_answers = models.CharField(
        "答案公布", max_length=20, choices=ShowAnswers.choices, default=ShowAnswers.AFTER_CLOSE
    )
    # The lesson, course or class must be completed (valid study time) before the exam.
    requires_completion = models.BooleanField("须先完成学习", default=True)
    # The questions every attempt is drawn from, frozen when the exam is created: all trainees
    # draw from the same pool, later bank edits do not reach a published exam, and starting an
    # attempt needs no bank query (services.exam_pool).
    pool = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "考试"
        verbose_name_plural = "考试"
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
        IN_PROGRESS = "in_progress", "作答中"
        SUBMITTED = "submitted", "已交卷"

    class EndReason(models.TextChoices):
        TRAINEE = "trainee", "考生交卷"
        TIME_UP = "time_up", "时间到自动交卷"
        FACE_FAILED = "face_failed", "人脸抽查连续未通过（成绩无效）"

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="exam_attempts"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    number = models.PositiveSmallIntegerField("第几次")
    status = models.CharField(
        "状态", max_length=20, choices=Status.choices, default=Status.IN_PROGRESS
    )
    end_reason = models.CharField("交卷方式", max_length=20, choices=EndReason.choices, blank=True)
    started_at = models.DateTimeField("开始时间")
    deadline = models.DateTimeField("截止时间")
    submitted_at = models.DateTimeField("交卷时间", null=True, blank=True)
    # [{"id", "kind", "stem", "options" (as shown), "perm" (shown index -> bank index),
    #   "answer" (bank indexes / accepted fills), "score", "blanks"}] in the order shown.
    paper = models.JSONField(default=list)
    answers = models.JSONField(default=dict)  # {"<question id>": [shown indexes] | [fills]}
    answers_saved_at = models.DateTimeField(null=True, blank=True)
    total_points = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    points = models.DecimalField("得分", max_digits=6, decimal_places=1, null=True, blank=True)
    score = models.DecimalField("成绩（百分制）", max_digits=5, decimal_places=1, null=True)
    passed = models.BooleanField("是否及格", null=True)
    # {"<question id>": points earned}: kept so a result page needs no regrading.
    marks = models.JSONField(default=dict, blank=True)
    page_leaves = models.PositiveIntegerField("离开页面次数", default=0)
    start_face = models.OneToOneField(
        "faces.FaceAttempt",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_start",
    )
    face_checks = models.PositiveSmallIntegerField("抽查次数", default=0)
    face_failures = models.PositiveSmallIntegerField("抽查未通过次数", default=0)
    face_failures_in_row = models.PositiveSmallIntegerField(default=0)
    next_face_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "考试记录"
        verbose_name_plural = "考试记录"
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
