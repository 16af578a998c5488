"""Supervised study: sessions, confirmed segments, uncredited intervals with reasons, pop-up
answers and per-lesson progress. Compact by design: a heartbeat updates its session row; rows
are added only when something happens (a segment confirmed, a new reason, a question)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StudySession(models.Model):
    class Status(models.TextChoices):
        AWAITING_FACE = "awaiting_face", _("等待人脸核验")
        ACTIVE = "active", _("学习中")
        ENDED = "ended", _("已结束")

    class EndReason(models.TextChoices):
        LEFT = "left", _("学员退出")
        COMPLETED = "completed", _("课时学完")
        IDLE = "idle", _("长时间无操作")
        FACE_FAILED = "face_failed", _("人脸核验连续失败（无效）")
        CONCURRENT = "concurrent", _("在其他设备或页面开始学习")
        DAILY_CAP = "daily_cap", _("达到每日学时上限")
        ABANDONED = "abandoned", _("连接中断")

    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="study_sessions"
    )
    lesson = models.ForeignKey(
        "courses.Lesson", on_delete=models.PROTECT, related_name="study_sessions"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    training_class = models.ForeignKey(
        "courses.TrainingClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="study_sessions",
    )
    device = models.CharField(_("设备标识"), max_length=64)
    user_agent = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.AWAITING_FACE
    )
    end_reason = models.CharField(
        _("结束原因"), max_length=20, choices=EndReason.choices, blank=True
    )
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    ledger = models.JSONField(default=dict)  # zhipei.study.ledger.State
    credited_seconds = models.FloatField(_("有效时长（秒）"), default=0)  # confirmed + provisional
    confirmed_seconds = models.FloatField(_("已确认时长（秒）"), default=0)
    face_passed_at = models.DateTimeField(null=True, blank=True)
    next_face_at = models.DateTimeField(null=True, blank=True)
    face_due_at = models.DateTimeField(null=True, blank=True)
    face_failures = models.PositiveSmallIntegerField(default=0)
    next_quiz_at = models.DateTimeField(null=True, blank=True)
    quiz = models.ForeignKey(
        "QuizAnswer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_beat_at = models.DateTimeField(null=True, blank=True)
    daily_base_seconds = models.FloatField(default=0)  # credited earlier the same day
    open_interval = models.ForeignKey(
        "UncreditedInterval", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped by every write of the row (``save()`` does it; a queryset ``update()`` of a live
    # session must too): the heartbeat's fast path reads the row without a lock and writes it
    # only if the version is still the one it read (see study/services.py).
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("学习会话")
        verbose_name_plural = _("学习会话")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["trainee", "status"]),
            models.Index(fields=["institution", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.trainee_id} {self.lesson_id} {self.get_status_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Every update bumps ``version``, in the database: even a stale instance moves it on."""
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        fields = kwargs.get("update_fields")
        if fields is not None and "version" not in fields:
            kwargs["update_fields"] = [*fields, "version"]
        setattr(self, "version", models.F("version") + 1)  # noqa: B010 - an expression, not an int
        super().save(*args, **kwargs)
        # Read again on first use (a deferred field), not now: nothing on the hot path needs it.
        self.__dict__.pop("version", None)

    @property
    def invalid(self) -> bool:
        """Ended by failed face checks: none of its time counts."""
        return self.end_reason == self.EndReason.FACE_FAILED


class StudySegment(models.Model):
    """A continuous stretch of credited study, confirmed by a face check."""

    session = models.ForeignKey(StudySession, on_delete=models.PROTECT, related_name="segments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    from_position = models.FloatField()
    to_position = models.FloatField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.from_position:.0f}–{self.to_position:.0f}"


class UncreditedInterval(models.Model):
    """Time that was not credited, and why (ledger reason codes)."""

    session = models.ForeignKey(StudySession, on_delete=models.PROTECT, related_name="uncredited")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    seconds = models.FloatField()
    reason = models.CharField(max_length=20, db_index=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.reason} {self.seconds:.0f}s"


class QuizAnswer(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("待回答")
        CORRECT = "correct", _("正确")
        WRONG = "wrong", _("错误")
        TIMEOUT = "timeout", _("超时未答")

    session = models.ForeignKey(StudySession, on_delete=models.PROTECT, related_name="quiz_answers")
    question = models.ForeignKey(
        "courses.LessonQuestion", on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField()
    deadline = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    choice = models.SmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        ordering = ["asked_at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.get_outcome_display()}"


class LessonProgress(models.Model):
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="lesson_progress"
    )
    lesson = models.ForeignKey("courses.Lesson", on_delete=models.PROTECT, related_name="progress")
    credited_seconds = models.FloatField(_("有效时长（秒）"), default=0)
    furthest_position = models.FloatField(_("最远有效位置"), default=0)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trainee", "lesson"], name="unique_lesson_progress")
        ]

    def __str__(self) -> str:
        return f"{self.trainee_id} {self.lesson_id} {self.credited_seconds:.0f}s"


class SupervisionPolicy(models.Model):
    """An institution's own supervision numbers. Each may only be stricter than the platform's
    (zhipei.study.policy applies the stricter of the two)."""

    institution = models.OneToOneField(
        "institutions.Institution", on_delete=models.CASCADE, related_name="supervision_policy"
    )
    face_check_min_minutes = models.PositiveIntegerField(
        _("人脸抽查最短间隔（分钟）"), null=True, blank=True
    )
    face_check_max_minutes = models.PositiveIntegerField(
        _("人脸抽查最长间隔（分钟）"), null=True, blank=True
    )
    quiz_min_minutes = models.PositiveIntegerField(
        _("随堂问题最短间隔（分钟）"), null=True, blank=True
    )
    quiz_max_minutes = models.PositiveIntegerField(
        _("随堂问题最长间隔（分钟）"), null=True, blank=True
    )
    idle_minutes = models.PositiveIntegerField(_("无操作提示（分钟）"), null=True, blank=True)
    daily_cap_xueshi = models.PositiveIntegerField(_("每日学时上限"), null=True, blank=True)
    min_segment_seconds = models.PositiveIntegerField(
        _("最短计时片段（秒）"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("监管参数")
        verbose_name_plural = _("监管参数")

    def __str__(self) -> str:
        return f"{self.institution_id}"
